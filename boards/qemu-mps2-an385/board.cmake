# board.cmake - ARM MPS2 AN385 (Cortex-M3, 4 MiB code RAM at 0, 4 MiB RAM at
# 0x20000000) under qemu-system-arm -M mps2-an385.
#
# Every portable unit test (tests/unit/test_*.c) runs here. They get
# RUNNEL_TARGET_SMALL=1 and RUNNEL_MODEL_OPS=5000 so long property runs
# shrink to what an emulated 25 MHz-class core does in seconds; a test keeps
# its static data under ~2 MiB.
set(RUNNEL_BOARD_DIR ${PROJECT_SOURCE_DIR}/boards/qemu-mps2-an385)
set(RUNNEL_BOARD_TEST_DEFINES RUNNEL_TARGET_SMALL=1 RUNNEL_MODEL_OPS=5000 RUNNEL_BOARD_MPS2_AN385=1)
# A hung test is killed after this many seconds (qemu runs these in seconds).
set(RUNNEL_TEST_TIMEOUT 300)
# UNALIGN_TRP is armed: newlib's ARMv7-M memcpy would trip it.
set(RUNNEL_BOARD_STRICT_MEMCPY ON)
include(${PROJECT_SOURCE_DIR}/boards/common/cortex_m.cmake)
