// pipekit: the orchestrator (see engine.hpp and pipekit(1)).
#include "engine.hpp"

int main(int argc, char** argv) {
  return pipekit::orchestrator::main(std::vector<std::string>(argv + 1, argv + argc));
}
