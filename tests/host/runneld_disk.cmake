# runneld keeps its store on disk (included by tests/host/CMakeLists.txt);
# tests/host/runneld_disk.py starts real runneld processes:
#   runneld_disk_kill9    no flags (in a private network namespace when
#                         `unshare -rn` works): the store file is created in
#                         the cwd; a 1,000-entry stream, groups with pending
#                         entries and acks; kill -9, restart, the same reply
#                         bytes (XLEN, XRANGE, XINFO STREAM/GROUPS, XPENDING);
#                         again across SIGTERM and SHUTDOWN
#   runneld_disk_refuse   a store that does not mount (foreign bytes, another
#                         size, another block size) stops the start and is
#                         left byte for byte; --format-store is the way out
#   runneld_disk_lock     a second runneld on the same dir is refused
#   runneld_disk_wrap     80 rounds of writes through a wrapping 1 MiB ring,
#                         kill -9 after each, the same bytes after each restart
#   runneld_disk_policy   appendfsync always/everysec/no (CONFIG GET/SET),
#                         group commit, SAVE/BGSAVE/LASTSAVE, INFO persistence,
#                         store-type ram
include_guard(GLOBAL)
if(TARGET runneld)
  foreach(case kill9 refuse lock policy wrap)
    add_test(NAME runneld_disk_${case}
             COMMAND ${RUNNEL_HOST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/runneld_disk.py ${case}
                     --runneld $<TARGET_FILE:runneld>)
    set_tests_properties(runneld_disk_${case} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
