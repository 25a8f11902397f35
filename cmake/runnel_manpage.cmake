# runnel_manpage.cmake - writes <name>.1: `<tool> --help` as a man page, so
# the page never says something the program does not.
#   cmake -DTOOL=<binary> -DNAME=<name> -DSUMMARY=<one line> [-DEMULATOR=<qemu|-L|/usr/...>]
#         -DVERSION=x.y.z -DOUT=<file> -P runnel_manpage.cmake
# EMULATOR: the toolchain's CMAKE_CROSSCOMPILING_EMULATOR with '|' for ';'.
string(REPLACE "|" ";" EMULATOR "${EMULATOR}")
execute_process(COMMAND ${EMULATOR} ${TOOL} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME} --help exited ${rc}")
endif()
# roff: a backslash is \e; a line starting with . or ' would be a request.
string(REPLACE "\\" "\\e" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
string(TOUPPER "${NAME}" upper)
file(WRITE ${OUT} ".TH ${upper} 1 \"\" \"runnel ${VERSION}\" \"User Commands\"
.SH NAME
${NAME} \\- ${SUMMARY}
.SH DESCRIPTION
.nf
${help}.fi
.SH SEE ALSO
runneld(1), runnel-inspect(1), redis-cli(1), /usr/share/doc/runnel/README.md
")
