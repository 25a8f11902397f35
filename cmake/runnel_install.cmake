# runnel_install.cmake - what `cmake --install` puts where (GNUInstallDirs):
#
#   lib/librunnel.a, librunnel_port_ram.a, librunnel_port_posix.a
#   include/runnel/   runnel.h runnel_err.h runnel_opt.h runnel_port.h and
#                     the installed ports' headers (ram_bd.h, posix_bd.h)
#   lib/cmake/runnel/ runnelConfig.cmake, runnelConfigVersion.cmake and the
#                     exported targets runnel::runnel, runnel::port_*
#   lib/pkgconfig/runnel.pc
#   bin/runneld, bin/runnel-inspect (when built; tools/*/CMakeLists.txt)
#   share/man/man1/runneld.1, runnel-inspect.1   their --help as man pages
#   share/doc/runnel/                 README, FORMAT, CHANGELOG, docs/,
#                                     examples/runneld.conf
#   lib/systemd/system/runneld.service (ExecStart = this prefix's runneld)
include(CMakePackageConfigHelpers)

set(_runnel_install_targets runnel)
set(_runnel_pc_libs "-lrunnel")
set(_runnel_port_headers "")
foreach(_port ram posix)
  if(TARGET runnel_port_${_port})
    list(APPEND _runnel_install_targets runnel_port_${_port})
    set(_runnel_pc_libs "-lrunnel_port_${_port} ${_runnel_pc_libs}")
    list(APPEND _runnel_port_headers ${PROJECT_SOURCE_DIR}/port/${_port}/${_port}_bd.h)
  endif()
endforeach()

install(TARGETS ${_runnel_install_targets} EXPORT runnelTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/runnel)
file(GLOB _runnel_public_copies ${RUNNEL_PUBLIC_INCLUDE_DIR}/*.h)
install(FILES ${_runnel_public_copies} ${_runnel_port_headers}
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/runnel)

set(RUNNEL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/runnel)
install(EXPORT runnelTargets NAMESPACE runnel:: FILE runnelTargets.cmake
        DESTINATION ${RUNNEL_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/runnelConfig.cmake.in
    ${PROJECT_BINARY_DIR}/runnelConfig.cmake INSTALL_DESTINATION ${RUNNEL_CMAKE_DIR})
# 0.x: a minor release may change the API, so only the same major.minor is
# compatible until 1.0.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_runnel_compat SameMinorVersion)
else()
  set(_runnel_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/runnelConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY ${_runnel_compat})
install(FILES ${PROJECT_BINARY_DIR}/runnelConfig.cmake ${PROJECT_BINARY_DIR}/runnelConfigVersion.cmake
        DESTINATION ${RUNNEL_CMAKE_DIR})

set(RUNNEL_PC_LIBS "${_runnel_pc_libs}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/runnel.pc.in ${PROJECT_BINARY_DIR}/runnel.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/runnel.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Linux tools, when built (tools/CMakeLists.txt).
foreach(_tool runnel-inspect runnel_inspect)
  if(TARGET ${_tool})
    install(TARGETS ${_tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
# runneld's companions: only when runneld is built.
if(TARGET runneld)
  install(TARGETS runneld RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  configure_file(${PROJECT_SOURCE_DIR}/packaging/runneld.service.in
                 ${PROJECT_BINARY_DIR}/runneld.service @ONLY)
  # Relative = under the prefix; a distribution passes its own (Debian 12:
  # /lib/systemd/system, debian/rules).
  set(RUNNEL_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING "Where runneld.service is installed")
  install(FILES ${PROJECT_BINARY_DIR}/runneld.service DESTINATION ${RUNNEL_SYSTEMD_UNIT_DIR})
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/runneld.conf
          DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
endif()
# Man pages are the tools' --help, so making one needs the tool to run here:
# native, or through the toolchain's emulator (a list, qemu-arm;-L;/usr/...,
# passed as one argument).
if(NOT CMAKE_CROSSCOMPILING OR CMAKE_CROSSCOMPILING_EMULATOR)
  string(REPLACE ";" "|" _runnel_emulator "${CMAKE_CROSSCOMPILING_EMULATOR}")
  set(_runnel_man_pages "")
  foreach(_entry "runneld|Redis Streams compatible event log broker (runnel)"
                 "runnel-inspect|check and print a runnel store image")
    string(REPLACE "|" ";" _entry "${_entry}")
    list(GET _entry 0 _tool)
    list(GET _entry 1 _summary)
    if(TARGET ${_tool})
      add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/${_tool}.1
          COMMAND ${CMAKE_COMMAND} "-DTOOL=$<TARGET_FILE:${_tool}>" -DNAME=${_tool}
                  "-DSUMMARY=${_summary}" "-DEMULATOR=${_runnel_emulator}"
                  -DVERSION=${PROJECT_VERSION} -DOUT=${PROJECT_BINARY_DIR}/${_tool}.1
                  -P ${PROJECT_SOURCE_DIR}/cmake/runnel_manpage.cmake
          DEPENDS ${_tool} ${PROJECT_SOURCE_DIR}/cmake/runnel_manpage.cmake
          COMMENT "${_tool}.1 from ${_tool} --help"
          VERBATIM)
      list(APPEND _runnel_man_pages ${PROJECT_BINARY_DIR}/${_tool}.1)
    endif()
  endforeach()
  if(_runnel_man_pages)
    add_custom_target(runnel_man ALL DEPENDS ${_runnel_man_pages})
    install(FILES ${_runnel_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  endif()
elseif(TARGET runneld)
  message(STATUS "runnel: cross build without CMAKE_CROSSCOMPILING_EMULATOR: no man pages")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/FORMAT.md
              ${PROJECT_SOURCE_DIR}/CHANGELOG.md ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")
