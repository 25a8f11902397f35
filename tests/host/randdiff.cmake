# interop_random: tests/interop/randdiff.py, the randomized differential test
# (random stream command sequences, runneld vs a real redis-server 7.0.15,
# replies compared byte for byte). A fixed seed set keeps it reproducible and
# under ~30 s; run more seeds by hand:
#   /usr/bin/python3 tests/interop/randdiff.py --runneld PATH --seeds 1-300
# A missing redis-server makes randdiff.py exit 2: the test FAILS, never skips.
include_guard(GLOBAL)
if(TARGET runneld)
  add_test(NAME interop_random
           COMMAND ${RUNNEL_HOST_PYTHON} ${PROJECT_SOURCE_DIR}/tests/interop/randdiff.py
                   --runneld $<TARGET_FILE:runneld> --seeds 1-40 --ops 3000)
  set_tests_properties(interop_random PROPERTIES TIMEOUT 300 ENVIRONMENT "${RUNNEL_INTEROP_ENV}")
endif()
