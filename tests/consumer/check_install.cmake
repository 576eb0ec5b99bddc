# Run by CTest: installs the already-built tree into a scratch prefix, then builds the
# consumer program against it through find_package and through pkg-config, each as C++20
# and as C++23, and runs them.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
# The package's cxx_std_20 is a minimum: a consumer on C++23 stays on C++23.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build23
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_CXX_STANDARD=23
    -DCMAKE_CXX_FLAGS=-DTFD_CONSUMER_EXPECT_CXX23)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build23)
run(${WORK_DIR}/build23/consumer)

file(GLOB_RECURSE pc_files ${prefix}/*/tfd.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND pkg-config --cflags --libs tfd OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not find the installed tfd.pc")
endif()
if(flags MATCHES "-std=")
  message(FATAL_ERROR "tfd.pc must not choose the C++ standard for its user: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
# The user's standard wins, whatever its place on the command line: C++20, and C++23 both
# before and after the package's flags (main.cpp checks it was really compiled as C++23).
run(${CXX} -std=c++20 ${SOURCE_DIR}/tests/consumer/main.cpp ${flags} -o ${WORK_DIR}/consumer_pc)
run(${WORK_DIR}/consumer_pc)
run(${CXX} -std=c++23 -DTFD_CONSUMER_EXPECT_CXX23 ${SOURCE_DIR}/tests/consumer/main.cpp ${flags}
    -o ${WORK_DIR}/consumer_pc23)
run(${WORK_DIR}/consumer_pc23)
run(${CXX} ${SOURCE_DIR}/tests/consumer/main.cpp ${flags} -std=c++23 -DTFD_CONSUMER_EXPECT_CXX23
    -o ${WORK_DIR}/consumer_pc23_after)
