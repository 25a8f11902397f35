# Upstream forwarding (issue 7; included by tests/host/CMakeLists.txt):
# tests/host/sync.py starts a real redis-server 7.0 (--appendonly yes
# --appendfsync always), a TCP fault proxy written in the test and runneld
# with `upstream` pointing at the proxy. Each case ends comparing the
# upstream with the local streams entry by entry (0 duplicates, 0 gaps,
# same order):
#   sync_steady          three producers write while forwarding runs
#   sync_backlog         upstream unreachable while 200,000 entries are
#                        written, then the link back (time to first entry)
#   sync_upstream_kill9  kill -9 of redis-server 10 times during a drain
#   sync_cuts            60 proxy cuts (mid-batch, mid-reply, whole) while
#                        producers write; a stalled link hits the timeout
#   sync_runneld_kill9   kill -9 of runneld 6 times during a drain, restart
#   sync_full            backlog protection: refuse (the sync backlog error,
#                        nothing lost) and drop-oldest (counted) with the
#                        upstream down
#   sync_auth            requirepass, an ACL user + SELECT, wrong password
#   sync_errors          WRONGTYPE and OOM upstream: stopped, shown, nothing
#                        skipped; resumed once fixed
#   sync_committed       only entries the store file has synced go upstream
#   sync_names           posix net port: [::1], "localhost", an unknown name
#                        (Skipped, exit 77, without an IPv6 loopback)
# CI sizes are smaller than the issue's (1,000,000-entry backlog, 50 and 20
# kills, 200 cuts); `tests/host/sync.py CASE --runneld PATH --full` (or
# RUNNEL_SYNC_FULL=1) runs the full sizes. A missing redis-server fails.
include_guard(GLOBAL)
if(TARGET runneld)
  foreach(case steady backlog upstream_kill9 cuts runneld_kill9 full auth errors names committed)
    add_test(NAME sync_${case}
             COMMAND ${RUNNEL_HOST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/sync.py ${case}
                     --runneld $<TARGET_FILE:runneld>)
    set_tests_properties(sync_${case} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
                         ENVIRONMENT "REDIS_SERVER=${RUNNEL_REDIS_SERVER}")
  endforeach()
endif()

# fuzz_sync (tests/fuzz/fuzz_sync.c): arbitrary upstream replies, in any
# pieces, with link breaks, failed connects and time jumps; registered with
# fuzz.cmake's helper when clang is there (Skipped with the others if not).
if(COMMAND runnel_add_fuzzer AND DEFINED RUNNEL_FUZZ_CORE_SOURCES)
  runnel_add_fuzzer(fuzz_sync ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_sync.c
                    ${RUNNEL_FUZZ_CORE_SOURCES} ${RUNNEL_FUZZ_RAM_SOURCES})
endif()
