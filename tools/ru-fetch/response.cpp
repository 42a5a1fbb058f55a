// Parsing an API response and rendering its users. The whole body is
// validated (simdjson DOM) before anything is rendered, so a truncated or
// malformed response never yields half a page. The raw shape then writes each
// results[] element's bytes as the API sent them (spans found by simdjson
// On Demand), minified only when the API pretty-printed them.
#include <chrono>
#include <cstring>
#include <ctime>

#include "pipekit/json.hpp"
#include <fmt/format.h>

#include "engine.hpp"

namespace pipekit::rufetch {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::optional<element> field(element e, std::string_view key) {
  if (!e.is_object()) return std::nullopt;
  element v;
  if (e.get_object().value_unsafe().at_key(key).get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::optional<element> path(element e, std::initializer_list<std::string_view> keys) {
  std::optional<element> cur = e;
  for (auto k : keys) {
    cur = field(*cur, k);
    if (!cur) return std::nullopt;
  }
  return cur;
}

// A string, or a number as its text; nullopt for null, absent or containers.
std::optional<std::string> text_of(std::optional<element> e) {
  if (!e) return std::nullopt;
  switch (e->type()) {
    case element_type::STRING: return std::string(e->get_string().value_unsafe());
    case element_type::INT64: return std::to_string(e->get_int64().value_unsafe());
    case element_type::UINT64: return std::to_string(e->get_uint64().value_unsafe());
    case element_type::DOUBLE: return simdjson::minify(*e);
    case element_type::BOOL: return e->get_bool().value_unsafe() ? "true" : "false";
    default: return std::nullopt;
  }
}

void put_field(std::string& out, bool& first, std::string_view key, const std::optional<std::string>& v) {
  out += first ? "{" : ",";
  first = false;
  out += '"';
  out += key;
  out += "\":";
  if (v) json::append_string(out, *v);
  else out += "null";
}

// "8929 Valwood Pkwy, Billings, Michigan, United States". API 1.4 sends the
// street as {number, name}; API <= 1.1 as one string.
std::optional<std::string> address_of(element user) {
  auto loc = field(user, "location");
  if (!loc) return std::nullopt;
  std::string street;
  if (auto s = field(*loc, "street")) {
    if (s->is_object()) {
      auto number = text_of(field(*s, "number")), name = text_of(field(*s, "name"));
      if (number) street = *number;
      if (name) street += (street.empty() ? "" : " ") + *name;
    } else if (auto t = text_of(s)) {
      street = *t;
    }
  }
  std::string out = street;
  for (auto key : {"city", "state", "country"}) {
    if (auto t = text_of(field(*loc, key)); t && !t->empty()) out += (out.empty() ? "" : ", ") + *t;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// dob/registered: {date, age} in API >= 1.2, a plain string before.
std::optional<std::string> date_of(element user, std::string_view key) {
  auto v = field(user, key);
  if (!v) return std::nullopt;
  auto t = v->is_object() ? text_of(field(*v, "date")) : text_of(v);
  if (!t) return std::nullopt;
  return iso8601(*t);
}

bool only_space(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string iso8601(std::string_view d) {
  // "YYYY-MM-DD HH:MM:SS" exactly: the old API's format, in UTC.
  if (d.size() == 19 && d[4] == '-' && d[7] == '-' && d[10] == ' ' && d[13] == ':' && d[16] == ':') {
    std::string out(d);
    out[10] = 'T';
    out += 'Z';
    return out;
  }
  return std::string(d);
}

std::string utc_now_iso() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms % 1000));
}

void append_flat(std::string& out, element u, std::string_view extra) {
  bool first = true;
  put_field(out, first, "id", text_of(path(u, {"login", "uuid"})));
  put_field(out, first, "first_name", text_of(path(u, {"name", "first"})));
  put_field(out, first, "last_name", text_of(path(u, {"name", "last"})));
  put_field(out, first, "gender", text_of(field(u, "gender")));
  put_field(out, first, "address", address_of(u));
  put_field(out, first, "post_code", text_of(path(u, {"location", "postcode"})));
  put_field(out, first, "email", text_of(field(u, "email")));
  put_field(out, first, "username", text_of(path(u, {"login", "username"})));
  put_field(out, first, "dob", date_of(u, "dob"));
  put_field(out, first, "registered_date", date_of(u, "registered"));
  put_field(out, first, "phone", text_of(field(u, "phone")));
  put_field(out, first, "picture", text_of(path(u, {"picture", "medium"})));
  put_field(out, first, "nat", text_of(field(u, "nat")));
  out += extra;
  out += '}';
}

namespace {

// Why the DOM parser refused a body. 1e400 or 2^64 is JSON, not a syntax
// error: name the number (retried like any unusable page; a page without a
// seed may come back without it).
std::string invalid_json_error(simdjson::error_code err, std::string_view body) {
  std::string number;
  if (err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE) number = json::unrepresentable_number(body);
  return number.empty() ? std::string("not valid JSON (") + simdjson::error_message(err) + ")"
                        : fmt::format("the page holds the number {}, beyond what ru-fetch represents (integers "
                                      "of 64 bits, finite doubles); refused rather than rounded",
                                      number);
}

// Checks a page's shape, {"results": [objects...]}, and counts its users.
// Returns why the page is unusable, or "" (also for no users at all: an
// answer, "nothing to fetch", not a broken page).
std::string results_error(element root, size_t expected, size_t& users) {
  if (!root.is_object()) return "unexpected JSON: not an object with results[]";
  // The API reports some failures as 200 {"error": "..."}.
  if (auto e = field(root, "error")) {
    auto msg = text_of(e);
    return "the API answered with an error: " + (msg ? *msg : simdjson::minify(*e));
  }
  auto results = field(root, "results");
  if (!results || !results->is_array()) return "unexpected JSON: no results[] array";
  auto arr = results->get_array().value_unsafe();
  for (element u : arr) {
    if (!u.is_object()) return "unexpected JSON: results[] holds a non-object";
    ++users;
  }
  if (users == 0) return {};
  if (users < expected) return fmt::format("short page: {} users for {} asked", users, expected);
  return {};
}

// --meta: the request's info plus the fetch time, under one reserved key,
// as ",\"key\":{...}" to add before a record's closing brace.
std::string meta_text(element root, std::string_view fetched_at) {
  std::string meta = fmt::format(",\"{}\":{{", kMetaKey);
  auto info = field(root, "info");
  for (auto key : {"seed", "page", "results", "version"}) {
    auto v = info ? field(*info, key) : std::nullopt;
    meta += fmt::format("\"{}\":{},", key, v ? simdjson::minify(*v) : std::string("null"));
  }
  meta += "\"fetched_at\":";
  json::append_string(meta, fetched_at);
  meta += "}";
  return meta;
}

// One raw record's line: its bytes, with meta (if any) before its closing
// brace (without the comma in an empty object).
void append_raw_record(std::string& out, std::string_view bytes, bool with_meta, const std::string& meta) {
  if (with_meta) {
    out.append(bytes.data(), bytes.size() - 1);  // without the closing '}'
    if (only_space(bytes.substr(1, bytes.size() - 2))) out.append(meta.data() + 1, meta.size() - 1);
    else out += meta;
    out += '}';
  } else {
    out += bytes;
  }
  out += '\n';
}

}  // namespace

PageResult PageParser::parse(std::string_view body, size_t capacity, size_t expected, size_t limit,
                             std::string& out, std::string_view fetched_at) {
  PageResult r;
  // Full validation first (UTF-8, structure, every value).
  element root;
  if (auto err = dom_.parse(body.data(), body.size(), false).get(root)) {
    r.error = invalid_json_error(err, body);
    return r;
  }
  r.error = results_error(root, expected, r.users);
  if (!r.error.empty() || r.users == 0) return r;

  std::string meta;
  if (meta_) meta = meta_text(root, fetched_at);

  size_t n = std::min(limit, r.users);
  if (shape_ == Shape::flat) {
    out.reserve(out.size() + n * 400);
    auto arr = field(root, "results")->get_array().value_unsafe();  // checked by results_error
    size_t i = 0;
    for (element u : arr) {
      if (i++ == n) break;
      append_flat(out, u, meta);
      out += '\n';
    }
    r.written = n;
    return r;
  }
  append_raw(body, capacity, n, meta, out, r);
  return r;
}

// Raw: the element's own bytes. The DOM pass proved the document valid, so
// On Demand only has to find where each element starts and ends.
void PageParser::append_raw(std::string_view body, size_t capacity, size_t n, const std::string& meta,
                            std::string& out, PageResult& r) {
  out.reserve(out.size() + body.size() / std::max<size_t>(r.users, 1) * n + n * (meta.size() + 1));
  simdjson::ondemand::document doc;
  simdjson::padded_string_view input(body.data(), body.size(), capacity);
  if (auto err = ondemand_.iterate(input).get(doc)) {
    r.error = std::string("not valid JSON (") + simdjson::error_message(err) + ")";
    return;
  }
  simdjson::ondemand::array items;
  if (auto err = doc["results"].get_array().get(items)) {
    r.error = std::string("unexpected JSON: ") + simdjson::error_message(err);
    return;
  }
  size_t i = 0;
  size_t mark = out.size();
  for (auto item : items) {
    if (i == n) break;
    std::string_view bytes;
    simdjson::ondemand::object obj;
    if (item.get_object().get(obj) || obj.raw_json().get(bytes)) {
      out.resize(mark);
      r.error = "unexpected JSON in results[]";
      return;
    }
    // Pretty-printed by the server: one line per record needs it minified.
    if (std::memchr(bytes.data(), '\n', bytes.size()) || std::memchr(bytes.data(), '\r', bytes.size())) {
      scratch_.resize(bytes.size());
      size_t len = 0;
      if (simdjson::minify(bytes.data(), bytes.size(), scratch_.data(), len)) {
        out.resize(mark);
        r.error = "cannot minify a results[] element";
        return;
      }
      bytes = std::string_view(scratch_.data(), len);
    }
    append_raw_record(out, bytes, meta_, meta);
    ++i;
  }
  r.written = i;
}

}  // namespace pipekit::rufetch
