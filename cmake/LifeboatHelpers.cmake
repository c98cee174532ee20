# One way to declare every library, binary and test (after Abseil's AbseilHelpers.cmake).
#
#   lifeboat_cc_library(NAME common_status SRCS a.cc HDRS ... DEPS absl::status)
#   lifeboat_cc_binary(NAME kubesim SRCS main.cc DEPS kubesim_server)
#   lifeboat_cc_test(NAME status_test SRCS status_test.cc DEPS common LABELS unit)
#
# Our targets get -Wall -Wextra -Werror; third-party headers are included as SYSTEM by their
# imported targets, so their warnings do not fail the build.

set(LIFEBOAT_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers)

function(_lifeboat_common_target_setup target)
  target_compile_options(${target} PRIVATE ${LIFEBOAT_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR})
endfunction()

function(lifeboat_cc_library)
  cmake_parse_arguments(LB "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  if(LB_SRCS)
    add_library(${LB_NAME} STATIC ${LB_SRCS} ${LB_HDRS})
    _lifeboat_common_target_setup(${LB_NAME})
    target_link_libraries(${LB_NAME} PUBLIC ${LB_DEPS})
  else()
    add_library(${LB_NAME} INTERFACE ${LB_HDRS})
    target_include_directories(${LB_NAME} INTERFACE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR})
    target_link_libraries(${LB_NAME} INTERFACE ${LB_DEPS})
  endif()
endfunction()

function(lifeboat_cc_binary)
  cmake_parse_arguments(LB "" "NAME;OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${LB_NAME} ${LB_SRCS})
  _lifeboat_common_target_setup(${LB_NAME})
  target_link_libraries(${LB_NAME} PRIVATE ${LB_DEPS})
  if(LB_OUTPUT_NAME)
    set_target_properties(${LB_NAME} PROPERTIES OUTPUT_NAME ${LB_OUTPUT_NAME})
  endif()
  set_target_properties(${LB_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

# LABELS: unit (fast, hermetic), integration (servers on loopback), e2e, slow.
function(lifeboat_cc_test)
  cmake_parse_arguments(LB "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${LB_NAME} ${LB_SRCS})
  _lifeboat_common_target_setup(${LB_NAME})
  target_link_libraries(${LB_NAME} PRIVATE ${LB_DEPS} GTest::gmock GTest::gtest_main)
  if(NOT LB_LABELS)
    set(LB_LABELS unit)
  endif()
  if(NOT LB_TIMEOUT)
    set(LB_TIMEOUT 120)
  endif()
  add_test(NAME ${LB_NAME} COMMAND ${LB_NAME})
  set_tests_properties(${LB_NAME} PROPERTIES LABELS "${LB_LABELS}" TIMEOUT ${LB_TIMEOUT})
endfunction()

function(lifeboat_cc_benchmark)
  cmake_parse_arguments(LB "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${LB_NAME} ${LB_SRCS})
  _lifeboat_common_target_setup(${LB_NAME})
  target_link_libraries(${LB_NAME} PRIVATE ${LB_DEPS})
  set_target_properties(${LB_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()
