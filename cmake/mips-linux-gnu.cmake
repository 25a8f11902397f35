# mips-linux-gnu.cmake - 32-bit big-endian MIPS Linux.
#
#   cmake -B build-mips -S . -DCMAKE_TOOLCHAIN_FILE=cmake/mips-linux-gnu.cmake
#
# Here for one reason: the on-flash format and every codec must read the same
# on a big-endian host. The unit tests run under qemu-mips (qemu-user).
# Sanitizers are off: their runtimes do not work under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR mips)
set(CMAKE_C_COMPILER mips-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/mips-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-mips;-L;/usr/mips-linux-gnu)
set(RUNNEL_SANITIZE OFF CACHE BOOL "sanitizers do not run under qemu-user")
