// RFC 3986 section 5.2 reference resolution, enough for $id/$ref: schemes,
// authorities, dot segments, URNs (no authority) and fragments.
#include <filesystem>
#include <string>

#include "pipekit/jsonschema.hpp"

namespace pipekit::jsonschema {
namespace {

struct Parts {
  std::string scheme, authority, path, query, fragment;
  bool has_scheme = false, has_authority = false, has_query = false, has_fragment = false;
};

Parts split(const std::string& s) {
  Parts p;
  size_t i = 0;
  // scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  size_t colon = s.find(':');
  if (colon != std::string::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(s[0]))) {
    bool ok = true;
    for (size_t k = 0; k < colon; ++k) {
      char c = s[k];
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) ok = false;
    }
    if (ok) {
      p.scheme = s.substr(0, colon);
      p.has_scheme = true;
      i = colon + 1;
    }
  }
  if (s.compare(i, 2, "//") == 0) {
    size_t end = s.find_first_of("/?#", i + 2);
    if (end == std::string::npos) end = s.size();
    p.authority = s.substr(i + 2, end - i - 2);
    p.has_authority = true;
    i = end;
  }
  size_t end = s.find_first_of("?#", i);
  if (end == std::string::npos) end = s.size();
  p.path = s.substr(i, end - i);
  i = end;
  if (i < s.size() && s[i] == '?') {
    end = s.find('#', i);
    if (end == std::string::npos) end = s.size();
    p.query = s.substr(i + 1, end - i - 1);
    p.has_query = true;
    i = end;
  }
  if (i < s.size() && s[i] == '#') {
    p.fragment = s.substr(i + 1);
    p.has_fragment = true;
  }
  return p;
}

std::string remove_dot_segments(const std::string& in) {
  std::string input = in, out;
  while (!input.empty()) {
    if (input.rfind("../", 0) == 0) input.erase(0, 3);
    else if (input.rfind("./", 0) == 0) input.erase(0, 2);
    else if (input.rfind("/./", 0) == 0) input.replace(0, 3, "/");
    else if (input == "/.") input = "/";
    else if (input.rfind("/../", 0) == 0 || input == "/..") {
      input = input.size() == 3 ? "/" : input.substr(3);
      size_t slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (input == "." || input == "..") input.clear();
    else {
      size_t start = input[0] == '/' ? 1 : 0;
      size_t next = input.find('/', start);
      if (next == std::string::npos) next = input.size();
      out += input.substr(0, next);
      input.erase(0, next);
    }
  }
  return out;
}

std::string join(const Parts& p) {
  std::string s;
  if (p.has_scheme) s += p.scheme + ":";
  if (p.has_authority) s += "//" + p.authority;
  s += p.path;
  if (p.has_query) s += "?" + p.query;
  if (p.has_fragment) s += "#" + p.fragment;
  return s;
}

}  // namespace

std::string resolve_uri(const std::string& base, const std::string& ref) {
  Parts r = split(ref), b = split(base), t;
  if (r.has_scheme) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.has_authority) {
      t = r;
      t.path = remove_dot_segments(r.path);
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.has_query = r.has_query || b.has_query;
        t.query = r.has_query ? r.query : b.query;
      } else {
        if (r.path[0] == '/') t.path = remove_dot_segments(r.path);
        else {
          std::string merged;
          if (b.has_authority && b.path.empty()) merged = "/" + r.path;
          else {
            size_t slash = b.path.rfind('/');
            merged = (slash == std::string::npos ? std::string() : b.path.substr(0, slash + 1)) + r.path;
          }
          t.path = remove_dot_segments(merged);
        }
        t.has_query = r.has_query;
        t.query = r.query;
      }
      t.authority = b.authority;
      t.has_authority = b.has_authority;
    }
    t.scheme = b.scheme;
    t.has_scheme = b.has_scheme;
  }
  t.fragment = r.fragment;
  t.has_fragment = r.has_fragment;
  return join(t);
}

std::string file_uri(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  std::string p = ec ? path : abs.lexically_normal().string();
  return "file://" + p;
}

}  // namespace pipekit::jsonschema
