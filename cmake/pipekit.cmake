# The two shapes of code in this tree, each one call:
#   pipekit_library(NAME DEPS ...)  common/NAME: src/*.cpp -> pipekit_NAME (static),
#                                   include/ public, src/ private, tests/test_*.cpp
#   pipekit_tool(NAME LIBS ...)     tools/NAME: every .cpp but main.cpp -> NAME_engine
#                                   (static), main.cpp -> bin/NAME, tests/test_*.cpp
# Unit tests are labelled "unit" for ctest and land in build/unit/.

find_package(GTest REQUIRED)

function(pipekit_unit_tests dir)
  file(GLOB tests CONFIGURE_DEPENDS ${dir}/tests/test_*.cpp)
  foreach(src ${tests})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main GTest::gmock)
    target_compile_definitions(${name} PRIVATE PIPEKIT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/unit)
    add_test(NAME unit/${name} COMMAND ${name})
    set_tests_properties(unit/${name} PROPERTIES LABELS unit)
  endforeach()
endfunction()

function(pipekit_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(pipekit_${name} STATIC ${sources})
  target_include_directories(pipekit_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(pipekit_${name} PUBLIC ${ARG_DEPS})
  if(PIPEKIT_TESTS)
    pipekit_unit_tests(${CMAKE_CURRENT_SOURCE_DIR} pipekit_${name})
  endif()
endfunction()

function(pipekit_tool name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(REMOVE_ITEM sources ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp)
  set(engine ${name}_engine)
  add_library(${engine} STATIC ${sources})
  target_include_directories(${engine} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${engine} PUBLIC ${ARG_LIBS})
  # --help's examples: generated from the man page's EXAMPLES (one source).
  set(examples ${CMAKE_BINARY_DIR}/generated/help/${name}_examples.cpp)
  add_custom_command(OUTPUT ${examples}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated/help
    COMMAND docgen help-examples ${CMAKE_SOURCE_DIR}/man/${name}.1.in > ${examples}
    DEPENDS docgen ${CMAKE_SOURCE_DIR}/man/${name}.1.in)
  add_executable(${name} main.cpp ${examples})
  target_link_libraries(${name} PRIVATE ${engine})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  install(TARGETS ${name} RUNTIME DESTINATION bin)
  if(PIPEKIT_TESTS)
    pipekit_unit_tests(${CMAKE_CURRENT_SOURCE_DIR} ${engine})
  endif()
endfunction()
