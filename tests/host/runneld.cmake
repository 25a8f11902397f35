# runneld's own host tests (included by tests/host/CMakeLists.txt):
#   runneld_help, runneld_version          the flags print what they promise
#   runneld_test_config_good / _bad        --test-config: OK / the error with its line, exit 1
#   runneld_smoke                          XADD over TCP answers an ID, unix socket, a
#                                          1000-command pipeline, SIGTERM exits 0 and cleans up
#   runneld_sigint                         SIGINT exits 0
#   runneld_limits                         NOAUTH/AUTH, bulk over proto-max-bulk-len, an
#                                          endless inline line, maxclients, slot reuse
#   runneld_output                         a reply over the output limit closes the client
#                                          (logged, counted); a never-reading client is
#                                          throttled, the server stays responsive
#   runneld_protected                      protected mode: a non-loopback client is DENIED
#                                          without requirepass, let in with it (SKIPPED -
#                                          exit 77, reported by ctest as "Skipped", never
#                                          as passed - when the host has no non-loopback
#                                          IPv4 address)
include_guard(GLOBAL)
if(TARGET runneld)
  set(_rd $<TARGET_FILE:runneld>)
  set(_rdt ${PROJECT_SOURCE_DIR}/tests/host/runneld_basic.py)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/runneld_good.conf
       "# a valid config\nport 6390\nbind 127.0.0.1 ::1\nrequirepass \"p w\"\n"
       "store-size 8mb\nstore-block-size 32kb\nmaxclients 50\nclient-output-buffer-limit normal 8mb 0 0\n"
       "commit-policy always\nloglevel warning\n")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/runneld_bad.conf
       "port 6390\n# comment\nport 99999\n")

  add_test(NAME runneld_help COMMAND ${_rd} --help)
  set_tests_properties(runneld_help PROPERTIES PASS_REGULAR_EXPRESSION "Usage: runneld" TIMEOUT 10)
  add_test(NAME runneld_version COMMAND ${_rd} --version)
  set_tests_properties(runneld_version PROPERTIES
                       PASS_REGULAR_EXPRESSION "runneld v=[0-9.]+ redis_version 7.0.15 compatible" TIMEOUT 10)
  add_test(NAME runneld_test_config_good
           COMMAND ${_rd} ${CMAKE_CURRENT_BINARY_DIR}/runneld_good.conf --test-config)
  set_tests_properties(runneld_test_config_good PROPERTIES PASS_REGULAR_EXPRESSION "^OK" TIMEOUT 10)
  # Exit status 1 and the message naming line 3.
  add_test(NAME runneld_test_config_bad
           COMMAND sh -c "\"$1\" \"$2\" --test-config 2>&1; test $? -eq 1 && echo EXIT1" sh
                   ${_rd} ${CMAKE_CURRENT_BINARY_DIR}/runneld_bad.conf)
  set_tests_properties(runneld_test_config_bad PROPERTIES
                       PASS_REGULAR_EXPRESSION "at line 3\n>>> 'port 99999'\nInvalid port\nEXIT1" TIMEOUT 10)
  foreach(case smoke sigint limits output protected)
    add_test(NAME runneld_${case} COMMAND ${RUNNEL_HOST_PYTHON} ${_rdt} ${case} --runneld ${_rd})
    set_tests_properties(runneld_${case} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
  endforeach()
endif()
