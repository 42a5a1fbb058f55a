// jsonschema-eval: times the JSON Schema evaluator alone, record by record, as
// Blaze's `jsonschema validate --benchmark --loop N` times its own: each
// NDJSON line is parsed once (not timed), then Validator::valid() runs N
// times on it and the record's figure is the mean of those N runs. Prints the
// median, mean and 90th percentile over the records, the number of records
// each verdict got, and with --rejected FILE the line numbers found invalid.
// Used by bench/jvalidate-vs-blaze (build/bench/jsonschema-eval).
//
//   jsonschema-eval [--assert-formats] [--loop N] [--rejected FILE] SCHEMA NDJSON
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pipekit/jsonschema.hpp"

namespace js = pipekit::jsonschema;

int main(int argc, char** argv) {
  bool assert_formats = false;
  int loop = 10;
  std::string rejected_path;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--assert-formats") assert_formats = true;
    else if (a == "--loop" && i + 1 < argc) loop = std::max(1, std::atoi(argv[++i]));
    else if (a == "--rejected" && i + 1 < argc) rejected_path = argv[++i];
    else args.push_back(a);
  }
  if (args.size() != 2) {
    std::cerr << "usage: jsonschema-eval [--assert-formats] [--loop N] [--rejected FILE] SCHEMA NDJSON\n";
    return 2;
  }
  std::ifstream schema_in(args[0]);
  std::stringstream schema_text;
  schema_text << schema_in.rdbuf();
  js::Validator v({.assert_formats = assert_formats});
  try {
    std::string uri = js::file_uri(args[0]);
    v.add_document(nlohmann::json::parse(schema_text.str()), uri);
    v.compile(uri);
  } catch (const std::exception& e) {
    std::cerr << "jsonschema-eval: " << args[0] << ": " << e.what() << "\n";
    return 2;
  }
  std::ifstream in(args[1]);
  if (!in) {
    std::cerr << "jsonschema-eval: cannot read " << args[1] << "\n";
    return 2;
  }
  std::ofstream rejected;
  if (!rejected_path.empty()) rejected.open(rejected_path);
  simdjson::dom::parser parser;
  std::vector<double> per_record_ns;
  std::string line;
  size_t number = 0, valid = 0, invalid = 0, malformed = 0;
  using clock = std::chrono::steady_clock;
  while (std::getline(in, line)) {
    ++number;
    auto doc = parser.parse(line);
    if (doc.error()) {
      ++malformed;
      if (rejected.is_open()) rejected << number << "\n";
      continue;
    }
    simdjson::dom::element e = doc.value();
    bool ok = true;
    auto t0 = clock::now();
    for (int k = 0; k < loop; ++k) ok = v.valid(e);
    auto t1 = clock::now();
    per_record_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / loop);
    if (ok) {
      ++valid;
    } else {
      ++invalid;
      if (rejected.is_open()) rejected << number << "\n";
    }
  }
  if (per_record_ns.empty()) {
    std::cerr << "jsonschema-eval: no records\n";
    return 2;
  }
  double sum = 0;
  for (double x : per_record_ns) sum += x;
  std::vector<double> sorted = per_record_ns;
  std::sort(sorted.begin(), sorted.end());
  auto at = [&](double q) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * (sorted.size() - 1) + 0.5))]; };
  std::printf("records %zu valid %zu invalid %zu malformed %zu loop %d\n", number, valid, invalid, malformed, loop);
  std::printf("median_us %.3f mean_us %.3f p90_us %.3f min_us %.3f\n", at(0.5) / 1000, sum / sorted.size() / 1000,
              at(0.9) / 1000, sorted.front() / 1000);
  return 0;
}
