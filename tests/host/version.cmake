# version_agree: one version everywhere. core/runnel.h's RUNNEL_VERSION_STRING
# (which the CMake project version is read from) must be the newest entry of
# CHANGELOG.md and of debian/changelog; runneld --version and INFO server are
# checked by runneld_version_match (runneld_supervise.cmake), runnel.pc and
# the package config by tests/consumers/run.sh.
add_test(NAME version_agree
         COMMAND ${CMAKE_COMMAND} -DVERSION=${PROJECT_VERSION} -DSRC=${PROJECT_SOURCE_DIR}
                 -P ${PROJECT_SOURCE_DIR}/cmake/runnel_version_agree.cmake)
