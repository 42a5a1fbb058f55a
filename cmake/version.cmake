# Version = project version plus `git describe`, refreshed at every build so a
# binary always says which commit it came from.
set(PIPEKIT_VERSION_HEADER ${CMAKE_BINARY_DIR}/generated/pipekit/version_info.hpp)
add_custom_target(pipekit_version
  COMMAND ${CMAKE_COMMAND}
          -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${PIPEKIT_VERSION_HEADER}
          -DPROJECT_VERSION=${PROJECT_VERSION} -DRDKAFKA_VERSION=${RDKAFKA_VERSION}
          -P ${CMAKE_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${PIPEKIT_VERSION_HEADER}
  COMMENT "Stamping version")
