# runneld under a supervisor (tests/host/runneld_supervise.py):
#   runneld_sd_notify  supervised systemd over a fake NOTIFY_SOCKET (path and
#                    abstract): READY=1 once clients can connect, STOPPING=1
#   runneld_sighup     logrotate: SIGHUP re-opens a moved logfile
#   runneld_version_match  --version and INFO server agree with core/runnel.h
if(TARGET runneld)
  foreach(pair sd_notify:notify sighup:sighup version_match:version)
    string(REPLACE ":" ";" pair ${pair})
    list(GET pair 0 name)
    list(GET pair 1 case)
    add_test(NAME runneld_${name}
             COMMAND ${RUNNEL_HOST_PYTHON} ${PROJECT_SOURCE_DIR}/tests/host/runneld_supervise.py
                     ${case} --runneld $<TARGET_FILE:runneld>)
    set_tests_properties(runneld_${name} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
