# port/posix host test (included by tests/host/CMakeLists.txt):
#   test_posix_bd   the file-backed block device: creation erased, reopen,
#                   lock (same and other process), size mismatch refused,
#                   ENOSPC/EFBIG via RLIMIT_FSIZE, the core over a strict file.
#   test_posix_bd_tmpfs
#                   a real ENOSPC on a tiny tmpfs (test_posix_bd --tmpfs);
#                   needs CAP_SYS_ADMIN, else exits 77 and ctest reports it
#                   Skipped (SKIP_RETURN_CODE), never Passed.
# Timings (not a test): build/tests/host/test_posix_bd --bench [DIR]
include_guard(GLOBAL)
if(TARGET runnel_port_posix)
  add_executable(test_posix_bd ${CMAKE_CURRENT_SOURCE_DIR}/test_posix_bd.c)
  target_include_directories(test_posix_bd PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(test_posix_bd PRIVATE runnel_port_posix runnel runnel_internal)
  add_test(NAME test_posix_bd COMMAND test_posix_bd)
  set_tests_properties(test_posix_bd PROPERTIES TIMEOUT 120)
  add_test(NAME test_posix_bd_tmpfs COMMAND test_posix_bd --tmpfs)
  set_tests_properties(test_posix_bd_tmpfs PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
