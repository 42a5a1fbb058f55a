// jvalidate's run: compile the schema (exit 2 before any input is read if it
// does not), then filter NDJSON. Records are parsed once with simdjson; a
// record is first checked in fast mode (no messages), and only an invalid one
// is checked again to collect every error for its reject line.
#include "engine.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/log.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/ndjson.hpp"
#include "pipekit/signals.hpp"

namespace pipekit::jvalidate {

namespace fs = std::filesystem;
using json = nlohmann::json;
namespace pj = pipekit::json;

namespace {

json read_schema_file(const fs::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(errno_message(fmt::format("cannot read {} {}", what, path.string()), errno));
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    return json::parse(buf.str());
  } catch (const json::parse_error& e) {
    throw UsageError(fmt::format("{} {}: not valid JSON (at byte {}): {}", what, path.string(), e.byte, e.what()));
  } catch (const json::exception& e) {
    // Valid JSON the schema cannot use, e.g. {"maximum": 1e400}: a bad schema.
    throw UsageError(fmt::format("{} {}: a number beyond a double's range: {}", what, path.string(), e.what()));
  }
}

bool is_within(const fs::path& file, const fs::path& dir) {
  auto f = file.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++f)
    if (d->empty()) continue;  // a trailing separator
    else if (f == file.end() || *f != *d) return false;
  return true;
}

// Where a URI that no loaded schema claims may be found locally: a file://
// URI's own path, else DIR/<path of the URI> or DIR/<last segment> in each
// --ref-dir. Never the network. A file:// path (a relative $ref in a schema
// file becomes one) must lie under `roots` (the schemas' directories and the
// --ref-dirs) unless roots is empty (--allow-file-refs): a schema from
// elsewhere must not read arbitrary files.
std::optional<json> load_local(const std::string& uri, const std::vector<std::string>& ref_dirs,
                               const std::vector<fs::path>& roots) {
  std::vector<fs::path> candidates;
  if (uri.rfind("file://", 0) == 0) {
    std::error_code ec;
    fs::path file = fs::weakly_canonical(fs::path(uri.substr(7)), ec);
    if (!roots.empty() && std::none_of(roots.begin(), roots.end(), [&](const fs::path& r) { return is_within(file, r); }))
      throw UsageError(fmt::format("$ref to {}: outside the schemas' directories and --ref-dir; "
                                   "jvalidate reads it only with --allow-file-refs",
                                   uri));
    candidates.push_back(file);
  } else {
    std::string path = uri;
    size_t scheme = path.find("://");
    if (scheme != std::string::npos) {
      size_t slash = path.find('/', scheme + 3);
      path = slash == std::string::npos ? "" : path.substr(slash + 1);
    } else if (size_t colon = path.find(':'); colon != std::string::npos) {
      path = path.substr(colon + 1);
    }
    size_t q = path.find('?');
    if (q != std::string::npos) path.erase(q);
    path.erase(0, path.find_first_not_of('/'));  // DIR / "/etc/x" would be /etc/x
    for (const auto& dir : ref_dirs) {
      if (!path.empty() && path.find("..") == std::string::npos) candidates.push_back(fs::path(dir) / path);
      std::string last = fs::path(path).filename().string();
      if (!last.empty()) candidates.push_back(fs::path(dir) / last);
    }
  }
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return read_schema_file(c, "schema");
  }
  return std::nullopt;
}

std::string errors_field(const std::vector<jsonschema::Error>& errors, size_t max) {
  std::string out = "\"errors\":[";
  size_t n = std::min(errors.size(), max);
  for (size_t i = 0; i < n; ++i) {
    const auto& e = errors[i];
    if (i) out += ',';
    out += "{\"instanceLocation\":";
    pj::append_string(out, e.instance_location);
    out += ",\"keywordLocation\":";
    pj::append_string(out, e.keyword_location);
    out += ",\"keyword\":";
    pj::append_string(out, e.keyword);
    out += ",\"message\":";
    pj::append_string(out, e.message);
    out += '}';
  }
  out += ']';
  if (errors.size() > n) out += fmt::format(",\"errors_total\":{}", errors.size());
  return out;
}

std::string reason_of(const std::vector<jsonschema::Error>& errors) {
  if (errors.empty()) return "invalid";
  const auto& e = errors.front();
  std::string r = fmt::format("{}: {}: {}", e.instance_location.empty() ? "(root)" : e.instance_location, e.keyword,
                              e.message);
  if (errors.size() > 1) r += fmt::format(" (and {} more)", errors.size() - 1);
  return r;
}

// Valid records go to stdout through this: "out" counts a record only once
// the write that carried it succeeded, so a full disk cannot inflate it. It
// flushes before OutputWriter's buffer would fill, so that every write to the
// fd happens here, where it is counted.
class CountedOutput {
 public:
  explicit CountedOutput(std::atomic<uint64_t>& written) : written_(written) {}
  void write_line(std::string_view line) {
    if (pending_bytes_ + line.size() + 1 > kBufferBytes) flush();
    out_.write_line(line);
    pending_bytes_ += line.size() + 1;
    ++pending_;
  }
  void flush() {
    out_.flush();
    written_ += pending_;
    pending_ = 0;
    pending_bytes_ = 0;
  }

 private:
  static constexpr size_t kBufferBytes = 1u << 16;
  OutputWriter out_{STDOUT_FILENO, kBufferBytes};
  std::atomic<uint64_t>& written_;
  uint64_t pending_ = 0;
  size_t pending_bytes_ = 0;
};

// The "valid" counter, added to the shared Stats in steps: a locked map
// update per record cost as much as validating a few fields. Whatever is
// left is added when it goes out of scope, even on an exception.
class ValidCount {
 public:
  explicit ValidCount(Stats& stats) : stats_(stats) {}
  ~ValidCount() { publish(); }
  void add() {
    if (++pending_ == 4096) publish();
  }
  void publish() {
    if (pending_) stats_.add("valid", pending_);
    pending_ = 0;
  }

 private:
  Stats& stats_;
  uint64_t pending_ = 0;
};

}  // namespace

std::unique_ptr<jsonschema::Validator> load_schemas(const Options& opts) {
  if (opts.schemas.empty()) throw UsageError("--schema FILE is required");
  jsonschema::CompileOptions co;
  co.assert_formats = opts.assert_formats;
  std::vector<std::string> ref_dirs = opts.ref_dirs;
  std::vector<fs::path> roots;
  if (!opts.allow_file_refs) {
    std::error_code ec;
    for (const auto& s : opts.schemas) roots.push_back(fs::weakly_canonical(fs::absolute(s, ec), ec).parent_path());
    for (const auto& d : opts.ref_dirs) roots.push_back(fs::weakly_canonical(fs::absolute(d, ec), ec));
  }
  co.loader = [ref_dirs, roots](const std::string& uri) { return load_local(uri, ref_dirs, roots); };
  auto v = std::make_unique<jsonschema::Validator>(co);
  for (const auto& s : opts.schemas) v->add_document(read_schema_file(s, "schema"), jsonschema::file_uri(s));
  for (const auto& dir : opts.ref_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw UsageError(fmt::format("--ref-dir {}: not a directory", dir));
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) v->add_document(read_schema_file(f, "schema"), jsonschema::file_uri(f.string()));
  }
  try {
    v->compile(jsonschema::file_uri(opts.schemas.front()));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("schema {}: {}", opts.schemas.front(), e.what()));
  }
  return v;
}

namespace {

// The schema's verdict on one record: nothing when valid, else its errors.
// A stop signal while a pattern cannot finish sets `stopped` instead.
std::optional<std::vector<jsonschema::Error>> check(jsonschema::Validator& validator, simdjson::dom::element instance,
                                                    uint64_t line_no, bool& stopped) {
  std::vector<jsonschema::Error> errors;
  try {
    if (validator.valid(instance)) return std::nullopt;
    validator.validate(instance, errors);
  } catch (const jsonschema::MatchAborted& e) {
    // A backtracking pattern that cannot finish: a stop signal ends the run
    // here (the record is neither passed nor rejected: a consumer reads it
    // again); otherwise the record is rejected with the reason.
    if (stop_requested()) {
      log::warn("line {}: {}", line_no, e.what());
      stopped = true;
      return std::nullopt;
    }
    errors.assign(1, jsonschema::Error{"", "", "pattern", e.what()});
  }
  return errors;
}

}  // namespace

int run(const Options& opts, RunContext& ctx) {
  // Everything that can be wrong with the configuration fails here, before input.
  auto validator = load_schemas(opts);
  log::debug("schema {} compiled", opts.schemas.front());

  Stats& stats = ctx.stats;
  RejectSink rejects(opts.rejects, stats);
  Intake intake(opts.inputs, opts.intake, IntakeRules{}, rejects, stats);
  CountedOutput out(stats.records_out);
  for (const char* c : {"valid", "invalid", "malformed"}) stats.set(c, 0);
  ValidCount valid_count(stats);

  Record record;
  bool stopped = false;
  while (!stopped) {
    ReadStatus st = intake.next(record, 0);
    if (st == ReadStatus::timeout) {
      // Input is idle: pass on what we hold, so a trickle is never held back.
      out.flush();
      rejects.flush();
      valid_count.publish();
      stats.set("malformed", intake.malformed());
      st = intake.next(record);
    }
    if (st != ReadStatus::line) {
      stopped = st == ReadStatus::stopped;
      break;
    }
    auto errors = check(*validator, record.value, record.line.number, stopped);
    if (stopped) break;
    if (!errors) {
      out.write_line(record.line.text);
      valid_count.add();
      continue;
    }
    intake.reject(record, RejectCode::schema, reason_of(*errors), errors_field(*errors, opts.max_errors));
    stats.add("invalid");
    stats.add("invalid." + (errors->empty() ? std::string("schema") : errors->front().keyword));
  }
  out.flush();
  rejects.flush();
  valid_count.publish();
  stats.set("malformed", intake.malformed());
  if (stopped) log::info("stopped by signal; everything read so far was handled");
  return rejects.exit_status(stats.records_in);
}

}  // namespace pipekit::jvalidate
