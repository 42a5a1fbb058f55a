#pragma once
// ksub --list and --offsets: looking at a cluster without consuming.
#include "options.hpp"
#include "pipekit/kafka.hpp"

namespace pipekit::ksub {

int list(const Settings& s, const kafka::Properties& props);
int offsets(const Settings& s, const kafka::Properties& props);

}  // namespace pipekit::ksub
