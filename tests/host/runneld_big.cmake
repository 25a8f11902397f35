# Entries larger than a store block through runneld (included by
# tests/host/CMakeLists.txt); tests/host/runneld_big.py starts real runneld
# processes on a 256 MiB store file of 64 KiB blocks:
#   runneld_big_sizes   values of 1 B, 4 KiB +-1, 64 KiB +-1, 10 MB and
#                       100 MB: XADD, XRANGE, XREVRANGE, XREADGROUP give the
#                       bytes back, and again after kill -9 and SIGTERM
#                       restarts; proto-max-bulk-len bounds an entry
include_guard(GLOBAL)
if(TARGET runneld)
  add_test(NAME runneld_big_sizes
           COMMAND ${RUNNEL_HOST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/runneld_big.py sizes
                   --runneld $<TARGET_FILE:runneld>)
  set_tests_properties(runneld_big_sizes PROPERTIES TIMEOUT 300)
endif()
