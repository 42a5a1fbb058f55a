// jvalidate's command line: every option with its type, default and help, defined
// once. main() parses with it; pipekit builds its jvalidate stage against it.
#include "cli.hpp"

namespace pipekit::jvalidate {

std::unique_ptr<CLI::App> command_line(Options& opts) {
  auto parser = std::make_unique<CLI::App>("Validate NDJSON records against a JSON Schema (2020-12, 2019-09, draft-07).\n"
               "Valid records go to stdout unchanged, in input order; invalid and malformed\n"
               "lines go to --rejects with every error.", "jvalidate");
  CLI::App& app = *parser;
  add_common_options(app, opts.common);
  app.add_option("-s,--schema", opts.schemas,
                 "Schema file (repeatable: the first is the root, the others resolve $ref)")
      ->type_name("FILE")
      ->allow_extra_args(false)  // one FILE per --schema: later words are inputs
      ->required();
  app.add_option("--ref-dir", opts.ref_dirs, "Resolve $ref from the *.json schemas in DIR (repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_flag("--allow-file-refs", opts.allow_file_refs,
               "Let $ref read local files outside the schemas' directories and --ref-dir");
  app.add_flag("--assert-formats", opts.assert_formats,
               "Check \"format\" (email, date-time, uuid, uri, ...) instead of treating it as an annotation");
  add_intake_options(app, opts.intake);
  app.add_option("--max-errors", opts.max_errors, "Errors kept per reject line")
      ->type_name("N")
      ->capture_default_str();
  add_reject_options(app, opts.rejects);
  app.add_option("input", opts.inputs, "Input files (default: stdin; - is stdin)")->type_name("FILE");
  return parser;
}

}  // namespace pipekit::jvalidate
