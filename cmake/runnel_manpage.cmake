# runnel_manpage.cmake - writes runneld.1: `runneld --help` as a man page,
# so the page never says something the program does not.
#   cmake -DRUNNELD=<binary> [-DEMULATOR=<qemu|-L|/usr/...>] -DVERSION=x.y.z -DOUT=<file> -P runnel_manpage.cmake
# EMULATOR: the toolchain's CMAKE_CROSSCOMPILING_EMULATOR with '|' for ';'.
string(REPLACE "|" ";" EMULATOR "${EMULATOR}")
execute_process(COMMAND ${EMULATOR} ${RUNNELD} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runneld --help exited ${rc}")
endif()
# roff: a backslash is \e; a line starting with . or ' would be a request.
string(REPLACE "\\" "\\e" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
file(WRITE ${OUT} ".TH RUNNELD 1 \"\" \"runnel ${VERSION}\" \"User Commands\"
.SH NAME
runneld \\- Redis Streams compatible event log broker (runnel)
.SH DESCRIPTION
.nf
${help}.fi
.SH FILES
/etc/runnel/runneld.conf (Debian package), runnel.store in dir
.SH SEE ALSO
redis-cli(1), /usr/share/doc/runnel/README.md
")
