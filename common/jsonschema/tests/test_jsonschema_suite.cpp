// The official JSON-Schema-Test-Suite, every case: draft 2020-12 from
// $PIPEKIT_JSON_SCHEMA_SUITE, else the shared copy beside the repository
// (../shared/json-schema-test-suite), else the copy scripts/setup fetches
// (~/.cache/pipekit/json-schema-test-suite); draft-07 from Debian's
// json-schema-test-suite. A missing suite fails, saying how to get it. Remotes (http://localhost:1234/) map to the
// suite's remotes folder; meta-schemas come from Debian's python3-jsonschema
// (the suite refers to them; jvalidate never fetches a URL). Each test runs
// in both modes (fast verdict and full error collection), which must agree.
// Tests listed in kSkips are counted as skipped, each with its reason.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "pipekit/errors.hpp"
#include "pipekit/jsonschema.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace pipekit::jsonschema;

namespace {

fs::path shared_suite() {
  if (const char* env = std::getenv("PIPEKIT_JSON_SCHEMA_SUITE")) return env;
  const char* root = std::getenv("PIPEKIT_ROOT");
  fs::path beside = fs::path(root ? root : PIPEKIT_SOURCE_DIR) / ".." / "shared" / "json-schema-test-suite";
  if (fs::exists(beside)) return beside;
  const char* cache = std::getenv("PIPEKIT_CACHE");
  const char* home = std::getenv("HOME");
  if (cache) return fs::path(cache) / "json-schema-test-suite";
  return fs::path(home ? home : "/root") / ".cache" / "pipekit" / "json-schema-test-suite";
}
const fs::path kDebianSuite = "/usr/share/json-schema-test-suite";
const fs::path kMetaschemas = "/usr/lib/python3/dist-packages/jsonschema/schemas";

std::optional<json> read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  try {
    return json::parse(in);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Meta-schemas by URI, from python3-jsonschema's copies.
std::optional<json> metaschema(const std::string& uri) {
  static std::map<std::string, json> table = [] {
    std::map<std::string, json> t;
    for (const char* f : {"draft2020-12.json", "draft2019-09.json", "draft7.json"})
      if (auto j = read_json(kMetaschemas / f)) t[(*j)["$id"].get<std::string>()] = *j;
    if (auto v = read_json(kMetaschemas / "vocabularies.json"))
      for (auto& [k, s] : v->items()) t[k] = s;
    return t;
  }();
  std::string u = uri;
  if (!u.empty() && u.back() == '#') u.pop_back();
  for (auto& [k, v] : table) {
    std::string key = k;
    if (!key.empty() && key.back() == '#') key.pop_back();
    if (key == u) return v;
  }
  return std::nullopt;
}

struct Outcome {
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> failures, skips;
};

// Known differences, each with its reason. Key: "file: case / test".
const std::map<std::string, std::string>& skips() {
  static const std::map<std::string, std::string> s = {
#include "jsonschema_suite_skips.inc"
  };
  return s;
}

void run_file(const fs::path& file, const std::string& label, const fs::path& remotes, bool assert_formats,
              Draft draft, Outcome& out) {
  auto cases = read_json(file);
  ASSERT_TRUE(cases) << file;
  simdjson::dom::parser parser;
  for (const auto& c : *cases) {
    std::string case_desc = c["description"].get<std::string>();
    CompileOptions opts;
    opts.assert_formats = assert_formats;
    opts.default_draft = draft;
    opts.loader = [&](const std::string& uri) -> std::optional<json> {
      const std::string prefix = "http://localhost:1234/";
      if (uri.rfind(prefix, 0) == 0) return read_json(remotes / uri.substr(prefix.size()));
      return metaschema(uri);
    };
    std::unique_ptr<Validator> v;
    std::string compile_error;
    try {
      v = std::make_unique<Validator>(opts);
      v->add_document(c["schema"], "https://pipekit.invalid/root.json");
      v->compile("https://pipekit.invalid/root.json");
    } catch (const std::exception& e) {
      compile_error = e.what();
    }
    for (const auto& t : c["tests"]) {
      std::string key = label + ": " + case_desc + " / " + t["description"].get<std::string>();
      bool expected = t["valid"].get<bool>();
      std::string why;
      if (!compile_error.empty()) {
        why = "compile error: " + compile_error;
      } else {
        simdjson::padded_string text(t["data"].dump());
        auto doc = parser.parse(text);
        if (doc.error()) {
          why = std::string("simdjson cannot parse the data: ") + simdjson::error_message(doc.error());
        } else {
          bool fast = v->valid(doc.value());
          std::vector<Error> errors;
          bool full = v->validate(doc.value(), errors);
          if (fast != expected) why = fast ? "accepted an invalid instance" : "rejected a valid instance";
          else if (full != fast) why = "error mode disagrees with fast mode";
          else if (!full && errors.empty()) why = "invalid without an error";
          else if (full && !errors.empty()) why = "valid with errors";
          if (!fast && !errors.empty() && fast == expected) {
            // errors must carry a keyword and a location
            for (const auto& e : errors)
              if (e.keyword.empty() || e.keyword_location.empty() || e.message.empty()) why = "error without keyword";
          }
        }
      }
      // A skip names a test, a whole case ("file: case") or a whole file.
      auto skip = skips().find(key);
      if (skip == skips().end()) skip = skips().find(label + ": " + case_desc);
      if (skip == skips().end()) skip = skips().find(label);
      // A skip excuses a failing test only: tests under it that pass count as passed.
      if (why.empty()) {
        out.passed++;
      } else if (skip != skips().end()) {
        out.skipped++;
        out.skips.push_back(key + "  [" + skip->second + "]");
      } else {
        out.failed++;
        out.failures.push_back(key + ": " + why);
      }
    }
  }
}

Outcome run_dir(const fs::path& dir, const fs::path& remotes, bool assert_formats, Draft draft,
                const std::string& prefix) {
  Outcome out;
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto& f : files) run_file(f, prefix + f.filename().string(), remotes, assert_formats, draft, out);
  return out;
}

void report(const std::string& name, const Outcome& o) {
  std::cout << "[ SUITE    ] " << name << ": " << o.passed << " passed, " << o.failed << " failed, " << o.skipped
            << " skipped\n";
  for (auto& s : o.skips) std::cout << "  skipped: " << s << "\n";
  for (auto& f : o.failures) std::cout << "  FAILED: " << f << "\n";
}

void suite_test(const fs::path& root, const std::string& draft_dir, const std::string& sub, bool assert_formats,
                Draft draft, const std::string& name) {
  fs::path dir = root / "tests" / draft_dir / sub;
  ASSERT_TRUE(fs::exists(dir)) << "JSON-Schema-Test-Suite not found at " << dir
                                << ": run scripts/setup (it installs Debian's json-schema-test-suite and fetches "
                                   "the 2020-12 suite), or set PIPEKIT_JSON_SCHEMA_SUITE to a checkout of it";
  ASSERT_TRUE(fs::exists(kMetaschemas)) << "meta-schemas not found at " << kMetaschemas
                                        << ": run scripts/setup (Debian's python3-jsonschema)";
  Outcome o = run_dir(dir, root / "remotes", assert_formats, draft, draft_dir + "/" + (sub.empty() ? "" : sub + "/"));
  report(name, o);
  EXPECT_EQ(o.failed, 0) << name;
  EXPECT_GT(o.passed, 0);
}

}  // namespace

TEST(JsonSchemaSuite, Draft2020_12_Required) {
  suite_test(shared_suite(), "draft2020-12", "", false, Draft::draft2020_12, "draft2020-12 required");
}
TEST(JsonSchemaSuite, Draft2020_12_Optional) {
  suite_test(shared_suite(), "draft2020-12", "optional", false, Draft::draft2020_12, "draft2020-12 optional");
}
TEST(JsonSchemaSuite, Draft2020_12_Formats) {
  suite_test(shared_suite(), "draft2020-12", "optional/format", true, Draft::draft2020_12,
             "draft2020-12 optional/format (--assert-formats)");
}
TEST(JsonSchemaSuite, Draft7_Required) {
  suite_test(kDebianSuite, "draft7", "", false, Draft::draft7, "draft7 required");
}
TEST(JsonSchemaSuite, Draft7_Optional) {
  suite_test(kDebianSuite, "draft7", "optional", false, Draft::draft7, "draft7 optional");
}
TEST(JsonSchemaSuite, Draft7_Formats) {
  suite_test(kDebianSuite, "draft7", "optional/format", true, Draft::draft7,
             "draft7 optional/format (--assert-formats)");
}
