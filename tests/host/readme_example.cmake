# The README's C API example must compile and run as printed.
add_test(NAME readme_example
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/host/readme_example.py
                 ${CMAKE_C_COMPILER} ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/readme_example)
set_tests_properties(readme_example PROPERTIES TIMEOUT 120)
