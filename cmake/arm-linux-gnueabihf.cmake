# arm-linux-gnueabihf.cmake - 32-bit ARM Linux (Raspberry Pi class SBC).
#
#   cmake -B build-armhf -S . -DCMAKE_TOOLCHAIN_FILE=cmake/arm-linux-gnueabihf.cmake
#
# The unit tests run under qemu-user (qemu registers no binfmt here, so ctest
# calls qemu-arm explicitly). Sanitizers are off: their runtimes do not work
# under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm;-L;/usr/arm-linux-gnueabihf)
set(RUNNEL_SANITIZE OFF CACHE BOOL "sanitizers do not run under qemu-user")
