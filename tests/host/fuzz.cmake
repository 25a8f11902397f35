# fuzz.cmake - libFuzzer targets, registered as ctest tests (included by
# tests/host/CMakeLists.txt).
#
#   fuzz_resp  core/resp_*.c: command parser (whole vs chunked), reply
#              reader, writer round trips            (tests/fuzz/fuzz_resp.c)
#   fuzz_cmd   the command table fed arbitrary argv on a RAM store
#              (tests/fuzz/fuzz_cmd.c); only once core/cmd.c exists.
#   fuzz_mount runnel_mount over arbitrary and mutated store images, then
#              every read, a few writes and a second mount
#              (tests/fuzz/fuzz_mount.c; seeds: real images in
#              tests/fuzz/corpus/mount, regenerated as its header says).
#
# libFuzzer needs clang while the main build may use gcc, so the fuzzers are
# compiled by a custom command that calls clang directly, outside the main
# build's flags. They are not part of `all` (a clang-only warning in some
# core file must not break everyone's gcc build); the test `fuzz_build`
# builds them as a ctest fixture, and each fuzzer then runs for
# RUNNEL_FUZZ_SECONDS with -max_total_time. A crash, sanitizer report or
# broken invariant fails the test; the input is left in
# <build>/fuzz/crash-* (replay: <build>/fuzz/fuzz_resp <file>).
# tools/run-fuzzers.sh does the same outside ctest.

set(RUNNEL_FUZZ_SECONDS 60 CACHE STRING "Seconds each libFuzzer target runs under ctest")
find_program(RUNNEL_CLANG NAMES clang clang-14)

if(NOT RUNNEL_CLANG)
  # Registered anyway, as a test that exits 77 (SKIP_RETURN_CODE): ctest then
  # lists the fuzzers as Skipped instead of leaving no trace of them.
  message(WARNING "clang not found: the fuzz tests are skipped (apt-get install clang libclang-rt-14-dev)")
  add_test(NAME fuzz_build
           COMMAND sh -c "echo 'SKIP: clang not found, the libFuzzer targets cannot be built'; exit 77")
  set_tests_properties(fuzz_build PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 10)
  return()
endif()

set(RUNNEL_FUZZ_DIR ${PROJECT_BINARY_DIR}/fuzz)
set(RUNNEL_FUZZ_FLAGS -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer
    -Wall -Wextra -Werror -Wno-unknown-warning-option)
set(RUNNEL_FUZZ_INCLUDES -I${PROJECT_SOURCE_DIR}/core -I${PROJECT_SOURCE_DIR}/port
    -I${PROJECT_SOURCE_DIR}/port/ram)

# runnel_add_fuzzer(<name> <harness.c> <sources...>)
function(runnel_add_fuzzer name harness)
  set(bin ${RUNNEL_FUZZ_DIR}/${name})
  add_custom_command(
    OUTPUT ${bin}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${RUNNEL_FUZZ_DIR}
    COMMAND ${RUNNEL_CLANG} ${RUNNEL_FUZZ_FLAGS} ${RUNNEL_FUZZ_INCLUDES}
            ${harness} ${ARGN} -o ${bin}
    DEPENDS ${harness} ${ARGN}
    COMMENT "clang libFuzzer: ${name}"
    VERBATIM)
  add_custom_target(${name}_bin DEPENDS ${bin})
  add_dependencies(runnel_fuzzers ${name}_bin)

  string(REPLACE "fuzz_" "" short ${name})
  set(seeds ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${short})
  set(dict "")
  if(EXISTS ${PROJECT_SOURCE_DIR}/tests/fuzz/${short}.dict)
    set(dict -dict=${PROJECT_SOURCE_DIR}/tests/fuzz/${short}.dict)
  endif()
  # New corpus units go to the build directory; the seeds stay read-only.
  add_test(NAME ${name}
           COMMAND ${bin} -max_total_time=${RUNNEL_FUZZ_SECONDS} -print_final_stats=1
                   -timeout=10 -rss_limit_mb=3000 ${dict}
                   -artifact_prefix=${RUNNEL_FUZZ_DIR}/crash-${name}-
                   ${RUNNEL_FUZZ_DIR}/corpus-${short} ${seeds})
  math(EXPR _timeout "${RUNNEL_FUZZ_SECONDS} + 300")
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED runnel_fuzz_build
                       TIMEOUT ${_timeout} RUN_SERIAL TRUE)
  file(MAKE_DIRECTORY ${RUNNEL_FUZZ_DIR}/corpus-${short})
endfunction()

add_custom_target(runnel_fuzzers)
add_test(NAME fuzz_build
         COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target runnel_fuzzers)
set_tests_properties(fuzz_build PROPERTIES FIXTURES_SETUP runnel_fuzz_build TIMEOUT 600)

file(GLOB RUNNEL_FUZZ_RESP_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/resp_*.c)
runnel_add_fuzzer(fuzz_resp ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_resp.c ${RUNNEL_FUZZ_RESP_SOURCES})

if(EXISTS ${PROJECT_SOURCE_DIR}/core/cmd.c)
  file(GLOB RUNNEL_FUZZ_CORE_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/*.c)
  file(GLOB RUNNEL_FUZZ_RAM_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/port/ram/*.c)
  runnel_add_fuzzer(fuzz_cmd ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_cmd.c
                    ${RUNNEL_FUZZ_CORE_SOURCES} ${RUNNEL_FUZZ_RAM_SOURCES})
  runnel_add_fuzzer(fuzz_mount ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_mount.c
                    ${RUNNEL_FUZZ_CORE_SOURCES} ${RUNNEL_FUZZ_RAM_SOURCES})
  # The seed images' maker (fuzz_mount.c with -DFUZZ_MAKE_SEEDS, a plain
  # program; port/emu cuts the power): not run by any test, see its header.
  file(GLOB RUNNEL_FUZZ_EMU_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/port/emu/*.c)
  add_custom_command(
    OUTPUT ${RUNNEL_FUZZ_DIR}/make_mount_seeds
    COMMAND ${CMAKE_COMMAND} -E make_directory ${RUNNEL_FUZZ_DIR}
    COMMAND ${RUNNEL_CLANG} -std=c11 -g -O1 -fsanitize=address,undefined
            -fno-sanitize-recover=undefined -Wall -Wextra -Werror -DFUZZ_MAKE_SEEDS
            ${RUNNEL_FUZZ_INCLUDES} -I${PROJECT_SOURCE_DIR}/port/emu
            ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_mount.c ${RUNNEL_FUZZ_CORE_SOURCES}
            ${RUNNEL_FUZZ_RAM_SOURCES} ${RUNNEL_FUZZ_EMU_SOURCES}
            -o ${RUNNEL_FUZZ_DIR}/make_mount_seeds
    DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_mount.c ${RUNNEL_FUZZ_CORE_SOURCES}
    COMMENT "clang: make_mount_seeds"
    VERBATIM)
  add_custom_target(fuzz_mount_make_seeds DEPENDS ${RUNNEL_FUZZ_DIR}/make_mount_seeds)
endif()
