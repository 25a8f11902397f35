# runnel-inspect on real store images (included by tests/host/CMakeLists.txt):
#   inspect   tools/runnel-inspect/tests/test_inspect.py: images written by
#             the engine on port/emu (clean, wrapped, power cuts with torn
#             writes), a bit flip, a truncation, a blank file, runneld's own
#             store file, the mount fuzzer's seed images and 300 damaged
#             variants; checks the exit status (0 clean, 1 damage, never a
#             crash or sanitizer report), the block a flip is reported in,
#             and that the streams, groups and pending counts printed are
#             the ones written.
include_guard(GLOBAL)
if(TARGET runnel-inspect AND TARGET runnel_port_emu)
  add_executable(inspect_make_images ${PROJECT_SOURCE_DIR}/tools/runnel-inspect/tests/make_images.c)
  target_link_libraries(inspect_make_images PRIVATE runnel runnel_port_emu)
  set(_inspect_args --inspect $<TARGET_FILE:runnel-inspect>
      --make-images $<TARGET_FILE:inspect_make_images>
      --seeds ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/mount)
  if(TARGET runneld)
    list(APPEND _inspect_args --runneld $<TARGET_FILE:runneld>)
  endif()
  add_test(NAME inspect
           COMMAND ${RUNNEL_HOST_PYTHON} ${PROJECT_SOURCE_DIR}/tools/runnel-inspect/tests/test_inspect.py
                   ${_inspect_args})
  set_tests_properties(inspect PROPERTIES TIMEOUT 600)
endif()
