# runneld's memory model (issue 9), tests/host/runneld_mem.py over real
# sockets (included by tests/host/CMakeLists.txt):
#   runneld_mem_idle      idle RSS/VSZ bounds (/proc/PID/status), default store
#                         and a 1 MiB store, 1,000 idle clients and back; runs
#                         runneld_plain (no sanitizers: ASan's shadow is VSZ)
#   runneld_mem_bigreply  the 6 MB XRANGE and XREADGROUP COUNT 100 with the
#                         default config; a slow reader gets every byte
#   runneld_mem_stream    replies streamed from the log: a 100 MB XRANGE and an
#                         XREADGROUP of 100 x 1 MiB to slow readers (every byte
#                         checked, RSS bound, other clients' latency), ranges
#                         written whole before XDEL/XTRIM, drop-oldest cuts;
#                         runs runneld_plain (RSS is measured)
#   runneld_mem_budget    maxmemory-clients evicts the greedy client ("Evicting
#                         client: ..."), 20 others unaffected; client-max-memory
#   runneld_mem_shrink    query buffers go back after use and in the cron
#   runneld_mem_buffers   MULTI queue (moved while it grows), WATCH, XREAD BLOCK,
#                         XAUTOCLAIM/XINFO FULL scratch: contents kept, freed after
#   runneld_mem_overflow  sizes past 2^64 / the address space, protocol counts
#   runneld_many_clients  no flags (port 6379 in a private network namespace),
#                         1,000 clients, every reply checked, SIGTERM
include_guard(GLOBAL)
if(TARGET runneld)
  set(_rdm ${PROJECT_SOURCE_DIR}/tests/host/runneld_mem.py)
  if(TARGET runneld_plain)
    set(_rd_plain $<TARGET_FILE:runneld_plain>)
  else()
    set(_rd_plain $<TARGET_FILE:runneld>)
  endif()
  add_test(NAME runneld_mem_idle COMMAND ${RUNNEL_HOST_PYTHON} ${_rdm} idle --runneld ${_rd_plain})
  add_test(NAME runneld_mem_stream COMMAND ${RUNNEL_HOST_PYTHON} ${_rdm} stream --runneld ${_rd_plain})
  foreach(case bigreply budget shrink buffers overflow)
    add_test(NAME runneld_mem_${case}
             COMMAND ${RUNNEL_HOST_PYTHON} ${_rdm} ${case} --runneld $<TARGET_FILE:runneld>)
  endforeach()
  add_test(NAME runneld_many_clients
           COMMAND sh ${PROJECT_SOURCE_DIR}/tests/host/runneld_netns.sh
                   ${RUNNEL_HOST_PYTHON} ${_rdm} many --runneld $<TARGET_FILE:runneld>)
  set_tests_properties(runneld_mem_idle runneld_mem_stream runneld_mem_bigreply runneld_mem_budget
                       runneld_mem_shrink runneld_mem_buffers runneld_mem_overflow runneld_many_clients
                       PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
  # RSS is measured and 1,000 sockets opened: keep other tests off the cores.
  set_tests_properties(runneld_mem_idle runneld_mem_stream runneld_many_clients
                       PROPERTIES RUN_SERIAL TRUE)
endif()
