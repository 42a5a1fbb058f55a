#pragma once
// kpub's command line, defined once (cli.cpp).
#include <memory>

#include "engine.hpp"

namespace pipekit::kpub {

// A parser that fills `opts`, which must outlive it.
std::unique_ptr<CLI::App> command_line(Options& opts);

}  // namespace pipekit::kpub
