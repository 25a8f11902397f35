# The admin commands and limits of issue 9, tests/host/runneld_admin.py over
# real sockets, side by side with redis-server 7.0.15 where both have the
# behaviour (included by tests/host/CMakeLists.txt):
#   runneld_admin_monitor  MONITOR lines while another client works: the same
#                          lines as Redis's once timestamps and ports are
#                          normalised (redaction, admin commands left out,
#                          MULTI/EXEC order, blocked XREAD, SELECT's db)
#   runneld_admin_debug    DEBUG SLEEP stops the whole server as in Redis;
#                          enable-debug-command no|yes|local
#   runneld_admin_docs     COMMAND DOCS of every command: Redis's bytes, RESP2/3
#   runneld_admin_noevict  maxmemory-clients evicts the biggest client unless
#                          it said CLIENT NO-EVICT on
#   runneld_admin_limits   every runnel limit error names a real directive
#   runneld_admin_pools    default config: 100,000 keys + 10,000 groups by
#                          redis-cli --pipe (runneld_plain: RSS is printed)
include_guard(GLOBAL)
if(TARGET runneld)
  set(_rda ${PROJECT_SOURCE_DIR}/tests/host/runneld_admin.py)
  if(TARGET runneld_plain)
    set(_rda_plain $<TARGET_FILE:runneld_plain>)
  else()
    set(_rda_plain $<TARGET_FILE:runneld>)
  endif()
  foreach(case monitor debug docs noevict limits)
    add_test(NAME runneld_admin_${case}
             COMMAND ${RUNNEL_HOST_PYTHON} ${_rda} ${case} --runneld $<TARGET_FILE:runneld>)
  endforeach()
  add_test(NAME runneld_admin_pools COMMAND ${RUNNEL_HOST_PYTHON} ${_rda} pools --runneld ${_rda_plain})
  set_tests_properties(runneld_admin_monitor runneld_admin_debug runneld_admin_docs runneld_admin_noevict
                       runneld_admin_limits runneld_admin_pools
                       PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
                                  ENVIRONMENT "REDIS_SERVER=${RUNNEL_REDIS_SERVER}")
endif()
