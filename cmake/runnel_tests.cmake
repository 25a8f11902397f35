# Portable unit tests: every tests/unit/test_*.c becomes one executable and
# one ctest entry. On the host they run natively (sanitized); in a bare-metal
# cross build they are linked for the board and run under qemu through
# CMAKE_CROSSCOMPILING_EMULATOR (see cmake/arm-none-eabi.cmake).
file(GLOB RUNNEL_TEST_SUPPORT CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/support/*.c)
file(GLOB RUNNEL_UNIT_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/test_*.c)

# Seconds before ctest kills a test (a hung firmware never exits). A board may
# lower it in its board.cmake.
if(NOT DEFINED RUNNEL_TEST_TIMEOUT)
  set(RUNNEL_TEST_TIMEOUT 600)
endif()

function(runnel_add_unit_test src)
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${RUNNEL_TEST_SUPPORT})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(${name} PRIVATE runnel runnel_internal)
  if(TARGET runnel_port_ram)
    target_link_libraries(${name} PRIVATE runnel_port_ram)
  endif()
  if(TARGET runnel_port_emu)
    target_link_libraries(${name} PRIVATE runnel_port_emu)
  endif()
  if(COMMAND runnel_board_link)
    runnel_board_link(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${RUNNEL_TEST_TIMEOUT})
endfunction()

# A board too small for the unit tests (microbit) sets RUNNEL_SKIP_UNIT_TESTS
# and registers its own smoke test instead.
if(NOT RUNNEL_SKIP_UNIT_TESTS)
  foreach(src ${RUNNEL_UNIT_TESTS})
    runnel_add_unit_test(${src})
  endforeach()
  # The power-cut rig cuts at every program and erase on the host; under
  # QEMU a board runs a slice of it (every 29th cut, 40 random runs) on the
  # two small geometries. tests/unit/test_powercut.c says how to run more.
  if(TARGET test_powercut AND RUNNEL_BARE_METAL)
    target_compile_definitions(test_powercut PRIVATE POWERCUT_STRIDE=29u
                               POWERCUT_RANDOM_RUNS=40u POWERCUT_BIG_GEOMETRY=0)
  endif()
  # The sync power-cut test likewise: every 11th cut under QEMU.
  if(TARGET test_sync_powercut AND RUNNEL_BARE_METAL)
    target_compile_definitions(test_sync_powercut PRIVATE SYNC_POWERCUT_STRIDE=11u)
  endif()
  # The rigs are the longest tests by far: on the host under ASan (about
  # 11 min of CPU for test_powercut with its RELOCATE runs and spanning
  # entries) and under
  # qemu-user (the armhf and mips stages run them whole) they need more
  # than the default bound on a loaded 2-core machine; a hang is still
  # caught, later.
  foreach(rig test_powercut test_sync_powercut)
    if(TARGET ${rig})
      set_tests_properties(${rig} PROPERTIES TIMEOUT 2400)
    endif()
  endforeach()
endif()

# Compile-time variants of core (runnel_opt.h): the utility tests again with
# the 64-byte and the 1 KiB CRC-32C tables, the util sources compiled in
# directly.
if(NOT RUNNEL_SKIP_UNIT_TESTS)
  file(GLOB RUNNEL_UTIL_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/util_*.c)
  add_executable(test_util_crc_small ${PROJECT_SOURCE_DIR}/tests/unit/test_util.c ${RUNNEL_UTIL_SOURCES})
  target_compile_definitions(test_util_crc_small PRIVATE RUNNEL_CRC32C_SMALL_TABLE=1)
  target_include_directories(test_util_crc_small PRIVATE ${PROJECT_SOURCE_DIR}/core
                             ${PROJECT_SOURCE_DIR}/port ${PROJECT_SOURCE_DIR}/tests/support)
  if(COMMAND runnel_board_link)
    runnel_board_link(test_util_crc_small)
  endif()
  add_test(NAME test_util_crc_small COMMAND test_util_crc_small)
  set_tests_properties(test_util_crc_small PROPERTIES TIMEOUT ${RUNNEL_TEST_TIMEOUT})
  # ... and with the 1 KiB byte table where slicing-by-8 is the default
  # (64-bit hosts), so both big-table paths run on the host.
  add_executable(test_util_crc_byte ${PROJECT_SOURCE_DIR}/tests/unit/test_util.c ${RUNNEL_UTIL_SOURCES})
  target_compile_definitions(test_util_crc_byte PRIVATE RUNNEL_CRC32C_SLICE8=0)
  target_include_directories(test_util_crc_byte PRIVATE ${PROJECT_SOURCE_DIR}/core
                             ${PROJECT_SOURCE_DIR}/port ${PROJECT_SOURCE_DIR}/tests/support)
  if(COMMAND runnel_board_link)
    runnel_board_link(test_util_crc_byte)
  endif()
  add_test(NAME test_util_crc_byte COMMAND test_util_crc_byte)
  set_tests_properties(test_util_crc_byte PROPERTIES TIMEOUT ${RUNNEL_TEST_TIMEOUT})
endif()
