# arm-none-eabi.cmake - bare-metal Cortex-M cross build, tests run under QEMU.
#
#   cmake -B build-m3 -S . -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake            # mps2-an385, Cortex-M3
#   cmake -B build-m0 -S . -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DBOARD=microbit   # Cortex-M0
#
# Every test executable is an .elf that ctest hands to qemu-system-arm through
# CMAKE_CROSSCOMPILING_EMULATOR; semihosting carries printf to the terminal and
# main()'s return value back as qemu's exit status (boards/common/startup_cm.c),
# so a failing test fails ctest. The board itself (linker script, startup,
# what runs as a test) is described by boards/qemu-<board>/board.cmake, which
# CMakeLists.txt includes for bare-metal builds.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# Compiler checks must not try to link a bare-metal program without startup.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

set(BOARD "mps2-an385" CACHE STRING "QEMU board: mps2-an385 (Cortex-M3) or microbit (Cortex-M0)")
set_property(CACHE BOARD PROPERTY STRINGS mps2-an385 microbit)
# try_compile re-reads this file in a fresh project: pass BOARD along.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES BOARD)

if(BOARD STREQUAL "microbit")
  # nRF51822: ARMv6-M, which has no unaligned access at all (it faults).
  set(_runnel_cpu "-mcpu=cortex-m0 -mthumb")
  set(_runnel_qemu_machine microbit)
elseif(BOARD STREQUAL "mps2-an385")
  # ARMv7-M would silently do unaligned LDR/STR; the startup code turns on
  # UNALIGN_TRP so such an access faults, and -mno-unaligned-access keeps the
  # compiler from emitting them on purpose. An unaligned pointer cast in core
  # then fails the test here as it would crash a Cortex-M0.
  set(_runnel_cpu "-mcpu=cortex-m3 -mthumb -mno-unaligned-access")
  set(_runnel_qemu_machine mps2-an385)
else()
  message(FATAL_ERROR "BOARD must be mps2-an385 or microbit, not '${BOARD}'")
endif()

set(CMAKE_C_FLAGS_INIT "${_runnel_cpu} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_runnel_cpu}")
# rdimon = newlib's semihosting back end (printf, exit status). Our own
# startup replaces crt0 (-nostartfiles), see boards/common/startup_cm.c.
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_runnel_cpu} --specs=rdimon.specs -nostartfiles -Wl,--gc-sections")

# </dev/null-safe: -monitor none -serial none keep qemu off the terminal.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-system-arm;-M;${_runnel_qemu_machine};-nographic;-monitor;none;-serial;none;-semihosting-config;enable=on,target=native;-kernel)
