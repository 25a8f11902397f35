# cortex_m.cmake - what every QEMU Cortex-M board shares: the startup object
# and runnel_board_link(), which turns an executable into a bootable .elf for
# the board. cmake/runnel_tests.cmake calls runnel_board_link() on every unit
# test when it is defined; a board's board.cmake includes this file after
# setting RUNNEL_BOARD_DIR.
#
# The .elf is run by ctest through CMAKE_CROSSCOMPILING_EMULATOR
# (cmake/arm-none-eabi.cmake); its exit status is main()'s return value, or
# 99 after a fault.
add_library(runnel_board_startup OBJECT ${PROJECT_SOURCE_DIR}/boards/common/startup_cm.c)
# ARMv7-M with the unaligned trap armed needs a memcpy that stays aligned
# (see boards/common/memcpy_strict.c); ARMv6-M newlib's memcpy already is.
if(RUNNEL_BOARD_STRICT_MEMCPY)
  target_sources(runnel_board_startup PRIVATE ${PROJECT_SOURCE_DIR}/boards/common/memcpy_strict.c)
  set_source_files_properties(${PROJECT_SOURCE_DIR}/boards/common/memcpy_strict.c PROPERTIES
                              COMPILE_OPTIONS "-fno-builtin;-fno-tree-loop-distribute-patterns")
endif()

function(runnel_board_link target)
  set(_ld ${RUNNEL_BOARD_DIR}/link.ld)
  target_link_libraries(${target} PRIVATE runnel_board_startup)
  # rdimon after the objects: newlib's semihosting syscalls.
  target_link_libraries(${target} PRIVATE rdimon)
  target_link_options(${target} PRIVATE -T${_ld} -Wl,-Map=$<TARGET_FILE:${target}>.map)
  target_compile_definitions(${target} PRIVATE ${RUNNEL_BOARD_TEST_DEFINES})
  set_target_properties(${target} PROPERTIES SUFFIX .elf LINK_DEPENDS ${_ld})
endfunction()

# Adds a test that runs `target` on the board (for executables that are not
# tests/unit/test_*.c, e.g. a board's smoke test).
function(runnel_board_add_test target)
  runnel_board_link(${target})
  add_test(NAME ${target} COMMAND ${target})
  set_tests_properties(${target} PROPERTIES TIMEOUT 60)
endfunction()
