#pragma once
// fileload's command line, defined once (cli.cpp).
#include <memory>

#include "engine.hpp"

namespace pipekit::fileload {

// A parser that fills `o`, which must outlive it.
std::unique_ptr<CLI::App> command_line(Options& o);

}  // namespace pipekit::fileload
