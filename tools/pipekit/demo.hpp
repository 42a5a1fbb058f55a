#pragma once
// pipekit demo: kmock, a throwaway PostgreSQL, 500 users, ingest, load,
// what landed and what was rejected, then everything cleaned up.
#include <string>

#include "settings.hpp"

namespace pipekit::orchestrator {

int run_demo(const CommandLine& cl, const Settings& s, const std::string& self, const std::string& data_dir);

}  // namespace pipekit::orchestrator
