#pragma once
// cqlload's command line, defined once (cli.cpp).
#include <memory>

#include "engine.hpp"

namespace pipekit::cqlload {

// A parser that fills `o`, which must outlive it.
std::unique_ptr<CLI::App> command_line(Options& o);

}  // namespace pipekit::cqlload
