# runnel_library.cmake - the library targets and what each one shows a user.
#
#   runnel::runnel      core/ (the engine; the RESP codec, the command table
#                       and the upstream forwarder unless RUNNEL_WITH_RESP /
#                       RUNNEL_WITH_CMD / RUNNEL_WITH_SYNC are OFF)
#   runnel::port_ram    port/ram   (RAM block device with NOR rules)
#   runnel::port_posix  port/posix (file block device, Linux)
#   runnel_port_emu     port/emu   (test rig, not installed)
#   runnel_internal     every header directory of the tree, for runnel's own
#                       tools and tests only (never exported)
#
# The PUBLIC include directory of runnel::runnel holds only the public
# headers: core/ mixes them with internal ones, so they are copied at
# configure time into <build>/include/runnel/ (configure_file re-runs the
# configure step when one of them changes) and installed from there.

include(GNUInstallDirs)   # CMAKE_INSTALL_INCLUDEDIR for the install interface

set(RUNNEL_PUBLIC_HEADERS
    ${PROJECT_SOURCE_DIR}/core/runnel.h
    ${PROJECT_SOURCE_DIR}/core/runnel_err.h
    ${PROJECT_SOURCE_DIR}/core/runnel_opt.h
    ${PROJECT_SOURCE_DIR}/port/runnel_port.h)
set(RUNNEL_PUBLIC_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include/runnel)
foreach(_h ${RUNNEL_PUBLIC_HEADERS})
  get_filename_component(_name ${_h} NAME)
  configure_file(${_h} ${RUNNEL_PUBLIC_INCLUDE_DIR}/${_name} COPYONLY)
endforeach()

file(GLOB RUNNEL_CORE_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/*.c)
# The full list stays in RUNNEL_CORE_SOURCES (the bench and runneld_plain
# compile their own copies of all of it); the library takes the parts chosen.
set(RUNNEL_LIBRARY_SOURCES ${RUNNEL_CORE_SOURCES})
if(NOT RUNNEL_WITH_CMD)
  list(FILTER RUNNEL_LIBRARY_SOURCES EXCLUDE REGEX "/core/cmd[^/]*\\.c$")
endif()
if(NOT RUNNEL_WITH_SYNC)
  list(FILTER RUNNEL_LIBRARY_SOURCES EXCLUDE REGEX "/core/sync[^/]*\\.c$")
endif()
if(NOT RUNNEL_WITH_RESP)
  list(FILTER RUNNEL_LIBRARY_SOURCES EXCLUDE REGEX "/core/resp_[^/]*\\.c$")
endif()

add_library(runnel STATIC ${RUNNEL_LIBRARY_SOURCES})
add_library(runnel::runnel ALIAS runnel)
target_include_directories(runnel
    PUBLIC $<BUILD_INTERFACE:${RUNNEL_PUBLIC_INCLUDE_DIR}>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/runnel>
    PRIVATE ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR}/port)
target_compile_features(runnel PUBLIC c_std_11)
set_target_properties(runnel PROPERTIES EXPORT_NAME runnel)

add_library(runnel_internal INTERFACE)
target_include_directories(runnel_internal INTERFACE
    ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR}/port ${PROJECT_SOURCE_DIR}/port/ram
    ${PROJECT_SOURCE_DIR}/port/emu ${PROJECT_SOURCE_DIR}/port/posix)

# runnel_add_port(<name> <dir>): port/<dir>/*.c as runnel_port_<name>, whose
# PUBLIC include directory is port/<dir> (it holds only that port's header).
function(runnel_add_port name dir)
  file(GLOB _srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/port/${dir}/*.c)
  if(NOT _srcs)
    return()
  endif()
  string(TOUPPER ${name} _up)
  set(RUNNEL_PORT_${_up}_SOURCES ${_srcs} PARENT_SCOPE)
  add_library(runnel_port_${name} STATIC ${_srcs})
  add_library(runnel::port_${name} ALIAS runnel_port_${name})
  target_include_directories(runnel_port_${name} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/port/${dir}>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/runnel>)
  target_link_libraries(runnel_port_${name} PUBLIC runnel)
  set_target_properties(runnel_port_${name} PROPERTIES EXPORT_NAME port_${name})
endfunction()

if(RUNNEL_PORT_RAM)
  runnel_add_port(ram ram)
endif()
# port/emu is the test rig (power cuts, bit flips): only for runnel's tests.
if(RUNNEL_BUILD_TESTS)
  runnel_add_port(emu emu)
endif()
# port/posix: the file-backed block device runneld uses on Linux. POSIX only,
# so bare-metal boards never see it; cross Linux builds (armhf, mips) do.
if(RUNNEL_PORT_POSIX)
  runnel_add_port(posix posix)
endif()
