# check_layers (included by tests/host/CMakeLists.txt, host builds only):
# tools/check-layers.sh reads the library's object files as this build made
# them (nm: defined vs undefined symbols per object) and fails when a lower
# layer of core/ calls a higher one (util < log < commit < stream < group <
# engine < resp < cmd, see core/internal.h). No rebuild inside ctest: it
# checks what `cmake --build` produced.
include_guard(GLOBAL)
if(CMAKE_NM)
  set(_check_layers_nm ${CMAKE_NM})
else()
  set(_check_layers_nm nm)
endif()
add_test(NAME check_layers
         COMMAND ${PROJECT_SOURCE_DIR}/tools/check-layers.sh
                 --objects ${PROJECT_BINARY_DIR}/CMakeFiles/runnel.dir/core)
set_tests_properties(check_layers PROPERTIES TIMEOUT 60 ENVIRONMENT "NM=${_check_layers_nm}")
