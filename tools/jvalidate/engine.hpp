#pragma once
// jvalidate: NDJSON (or envelopes) in, records valid under a JSON Schema out
// (unchanged, in input order); invalid and malformed lines go to the rejects
// file with every error. Acks rejected envelopes (docs/conventions.md).
#include <memory>
#include <string>
#include <vector>

#include "pipekit/cli.hpp"
#include "pipekit/intake.hpp"
#include "pipekit/jsonschema.hpp"
#include "pipekit/rejects.hpp"

namespace pipekit::jvalidate {

struct Options {
  CommonOptions common;
  RejectOptions rejects;
  std::vector<std::string> schemas;   // --schema FILE (first is the root)
  std::vector<std::string> ref_dirs;  // --ref-dir DIR
  bool allow_file_refs = false;       // --allow-file-refs: $ref may read any local file
  IntakeOptions intake;               // --max-line-bytes, --envelope (validate `value`), --ack
  bool assert_formats = false;        // --assert-formats
  size_t max_errors = 20;             // --max-errors: errors kept per reject
  std::vector<std::string> inputs;    // FILE...; none: stdin
};

// Loads and compiles the schemas (--schema, --ref-dir). Throws UsageError
// (exit 2) pointing to the problem: unreadable file, bad JSON, bad schema.
std::unique_ptr<jsonschema::Validator> load_schemas(const Options& opts);

int run(const Options& opts, RunContext& ctx);

}  // namespace pipekit::jvalidate
