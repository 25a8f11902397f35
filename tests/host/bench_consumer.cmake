# bench_consumer smoke test: runneld on a free loopback port, then
# bench_consumer -c 4 -n 2000 (and an uneven COUNT) must drain the stream
# with every entry acked, XPENDING 0 and XLEN n. See bench_consumer_test.sh.
include_guard(GLOBAL)
if(TARGET runneld AND TARGET bench_consumer)
  add_test(NAME bench_consumer_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/host/bench_consumer_test.sh
                   $<TARGET_FILE:runneld> $<TARGET_FILE:bench_consumer>)
  set_tests_properties(bench_consumer_smoke PROPERTIES TIMEOUT 120)
endif()
