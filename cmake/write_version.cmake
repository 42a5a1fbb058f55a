execute_process(COMMAND git -C ${SRC} describe --always --dirty --tags
                OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR describe STREQUAL "")
  set(describe "unknown")
endif()
# RDKAFKA_VERSION: the librdkafka the build compiled against (pkg-config).
set(content "#pragma once\n#define PIPEKIT_VERSION \"${PROJECT_VERSION}\"\n#define PIPEKIT_GIT_DESCRIBE \"${describe}\"\n#define PIPEKIT_RDKAFKA_VERSION \"${RDKAFKA_VERSION}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUT} "${content}")
endif()
