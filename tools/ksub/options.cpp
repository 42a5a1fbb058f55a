// ksub's options: parsing of -o and --template, and validate(), the one place
// where the options are checked (kept apart from I/O so they can be tested).
#include "options.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "pipekit/errors.hpp"

namespace pipekit::ksub {
namespace {

int64_t to_int64(const std::string& s, const std::string& what) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    throw UsageError("-o " + what + ": not a number");
  try {
    return std::stoll(s);
  } catch (const std::exception&) {
    throw UsageError("-o " + what + ": out of range");
  }
}

void check_topics(const Options& o, Settings& s) {
  if (o.topics.empty()) throw UsageError("no topic: give one with -t/--topic");
  for (const auto& t : o.topics) {
    if (t.empty()) throw UsageError("-t: empty topic name");
    if (t[0] == '^') {
      if (!s.grouped()) throw UsageError("-t " + t + ": a topic regex needs a consumer group (-G)");
      try {
        std::regex re(t);
      } catch (const std::regex_error&) {
        throw UsageError("-t " + t + ": not a valid regular expression");
      }
    }
  }
  if (s.grouped() && !o.partitions.empty()) throw UsageError("-p picks partitions by hand: it does not go with -G");
  for (int32_t p : o.partitions)
    if (p < 0) throw UsageError("-p: a partition is a number >= 0");
  s.partitions = o.partitions;
}

// -o and --since.
void check_start(const Options& o, Settings& s) {
  const bool group = s.grouped();
  if (!o.offset.empty()) {
    auto start = parse_offset(o.offset);
    if (group && start.kind != StartOffset::beginning && start.kind != StartOffset::end &&
        start.kind != StartOffset::stored)
      throw UsageError("with -G, -o is beginning, end or stored: where to start when the group has no committed offset");
    if (!group && start.kind == StartOffset::stored) throw UsageError("-o stored needs a consumer group (-G)");
    if (!group) s.start = start;
  }
  if (!o.since.empty()) {
    if (!o.offset.empty()) throw UsageError("--since and -o do not go together");
    if (group) throw UsageError("--since does not go with -G (the group's committed offsets decide)");
    s.since_ms = parse_duration_ms(o.since, "--since");
  }
}

// What is written, when the run ends, and what is committed.
void check_output_and_end(const Options& o, Settings& s) {
  if (!o.format.empty()) {
    if (o.envelope) throw UsageError("--template and --envelope do not go together");
    s.format = parse_format(o.format);
    s.output = Settings::Output::format;
  } else if (o.envelope) {
    s.output = Settings::Output::envelope;
  }
  if (!o.idle_timeout.empty()) {
    s.idle_ms = parse_duration_ms(o.idle_timeout, "--idle-timeout");
    if (s.idle_ms <= 0) throw UsageError("--idle-timeout must be more than 0");
  }
  s.ack_timeout_ms = parse_duration_ms(o.ack_timeout, "--ack-timeout");
  s.ack_timeout = o.ack_timeout;
  if (!o.commit_acks.empty()) {
    if (!s.grouped()) throw UsageError("--commit-acks needs a consumer group (-G)");
    if (!o.envelope) throw UsageError("--commit-acks needs --envelope (downstream acks by topic, partition, offset)");
  }
  s.exit_at_end = o.exit_at_end;
  s.count = o.count;
  s.empty_exit = o.empty_exit;
}

}  // namespace

Settings validate(const Options& o) {
  Settings s;
  s.kafka = o.kafka;
  s.topics = o.topics;
  s.group = o.group;
  s.commit_acks = o.commit_acks;
  s.json = o.json;
  if (o.offset == "beginning") s.auto_offset_reset = "earliest";
  if (o.offset == "end") s.auto_offset_reset = "latest";
  if (o.list || o.offsets) {
    if (o.list && o.offsets) throw UsageError("--list and --offsets do not go together");
    s.action = o.list ? Settings::Action::list : Settings::Action::offsets;
    return s;
  }
  if (o.json) throw UsageError("--json goes with --list or --offsets");
  check_topics(o, s);
  check_start(o, s);
  check_output_and_end(o, s);
  return s;
}

StartOffset parse_offset(const std::string& spec) {
  StartOffset o;
  if (spec == "beginning") o.kind = StartOffset::beginning;
  else if (spec == "end") o.kind = StartOffset::end;
  else if (spec == "stored") o.kind = StartOffset::stored;
  else if (!spec.empty() && spec[0] == '@') {
    o.kind = StartOffset::timestamp;
    o.value = to_int64(spec.substr(1), spec);
  } else if (!spec.empty() && spec[0] == '-') {
    o.kind = StartOffset::tail;
    o.value = to_int64(spec.substr(1), spec);
  } else if (!spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0]))) {
    o.kind = StartOffset::absolute;
    o.value = to_int64(spec, spec);
  } else {
    throw UsageError("-o '" + spec + "': expected beginning, end, stored, N, -N or @TIMESTAMP_MS");
  }
  return o;
}

std::vector<FormatPiece> parse_format(const std::string& spec) {
  std::vector<FormatPiece> out;
  auto literal = [&](char c) {
    if (out.empty() || out.back().token != 0) out.push_back({});
    out.back().literal.push_back(c);
  };
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c == '\\' && i + 1 < spec.size()) {
      char e = spec[++i];
      switch (e) {
        case 'n': literal('\n'); break;
        case 't': literal('\t'); break;
        case 'r': literal('\r'); break;
        case '\\': literal('\\'); break;
        default: literal('\\'); literal(e);
      }
    } else if (c == '%') {
      if (i + 1 >= spec.size()) throw UsageError("--template ends with a lone %");
      char t = spec[++i];
      if (t == '%') {
        literal('%');
      } else if (std::string_view("tpokKsSTh").find(t) != std::string_view::npos) {
        out.push_back({t, {}});
      } else {
        throw UsageError(std::string("--template: unknown token %") + t +
                         " (known: %t %p %o %k %K %s %S %T %h %%)");
      }
    } else {
      literal(c);
    }
  }
  return out;
}

}  // namespace pipekit::ksub
