# runnel_bench.cmake - benchmark programs (host only, not ctest tests).
#
#   cmake --build build --target bench_core && build/bench_core [--quick]
#
# Benchmarks measure the code as it ships: -O2, no sanitizers. The main host
# build instruments everything with ASan+UBSan (directory-wide options), so
# the bench links its own uninstrumented copy of core/ and port/ram/ and
# resets the inherited compile and link options. Not part of `all`: a
# half-finished API change must not break everyone's build through a
# benchmark; tools/test-all.sh builds and runs it (--quick) explicitly.
set(RUNNEL_BENCH_COPTS ${RUNNEL_WARNINGS} -O2)

add_library(runnel_bench_lib STATIC EXCLUDE_FROM_ALL ${RUNNEL_CORE_SOURCES} ${RUNNEL_PORT_RAM_SOURCES})
target_include_directories(runnel_bench_lib PUBLIC core port port/ram)
set_target_properties(runnel_bench_lib PROPERTIES COMPILE_OPTIONS "${RUNNEL_BENCH_COPTS}" LINK_OPTIONS "")

add_executable(bench_core EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/tests/bench/bench_core.c
               ${PROJECT_SOURCE_DIR}/tests/bench/bench_interleaved.c)
target_link_libraries(bench_core PRIVATE runnel_bench_lib)
set_target_properties(bench_core PROPERTIES COMPILE_OPTIONS "${RUNNEL_BENCH_COPTS}" LINK_OPTIONS ""
                      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})

# bench_mount: what a full durable store costs to mount, and what its
# checkpoints cost while writing (tests/bench/bench_mount.c).
add_executable(bench_mount EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/tests/bench/bench_mount.c)
target_link_libraries(bench_mount PRIVATE runnel_bench_lib)
set_target_properties(bench_mount PROPERTIES COMPILE_OPTIONS "${RUNNEL_BENCH_COPTS}" LINK_OPTIONS ""
                      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})

# bench_retention: the full-ring policies (REFUSE, DROP_OLDEST, RELOCATE) on
# the mixed-retention workload, one stream kept long and nine trimmed
# (tests/bench/bench_retention.c).
add_executable(bench_retention EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/tests/bench/bench_retention.c)
target_link_libraries(bench_retention PRIVATE runnel_bench_lib)
set_target_properties(bench_retention PROPERTIES COMPILE_OPTIONS "${RUNNEL_BENCH_COPTS}" LINK_OPTIONS ""
                      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
