#pragma once
// kmock's command line, defined once (cli.cpp): main() parses with it, the
// shell completions are generated from it.
#include <memory>

#include "engine.hpp"

namespace pipekit::kmock {

// A parser that fills `opts`, which must outlive it.
std::unique_ptr<CLI::App> command_line(Options& opts);

}  // namespace pipekit::kmock
