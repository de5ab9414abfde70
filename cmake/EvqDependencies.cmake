# doctest and fmt: the distribution's packages first (Debian: doctest-dev, libfmt-dev), and only
# where they are missing, CMake's FetchContent (which needs the internet).
#
# In the Windows cross build (mingw-w64) the host's packages are Linux libraries, so there we use
# both as header-only libraries: doctest always is one, and fmt is when FMT_HEADER_ONLY is defined.
include(FetchContent)

# doctest_discover_tests hands TEST_PREFIX to its script as `cmake -D TEST_PREFIX=...`, and cmake trims
# trailing blanks from -D values, so a prefix "ch02: " would arrive as "ch02:". evq passes prefixes with
# their blanks spelled %20, and this small script decodes them before running doctest's own.
macro(_evq_wrap_doctest_discovery)
  set(_evq_wrapper "${CMAKE_BINARY_DIR}/cmake/evq-doctest-add-tests.cmake")
  file(WRITE "${_evq_wrapper}"
    "string(REPLACE \"%20\" \" \" TEST_PREFIX \"\${TEST_PREFIX}\")\n"
    "include(\"${_DOCTEST_DISCOVER_TESTS_SCRIPT}\")\n")
  set(_DOCTEST_DISCOVER_TESTS_SCRIPT "${_evq_wrapper}")
endmacro()

function(_evq_fetch name repo tag)
  message(STATUS "evq: ${name} not found as a package; fetching ${tag} with FetchContent "
                 "(install it instead to build offline: see tools/lab setup)")
  FetchContent_Declare(${name} GIT_REPOSITORY ${repo} GIT_TAG ${tag} GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(${name})
endfunction()

if(CMAKE_CROSSCOMPILING)
  # Copy the host's headers into the build tree: pointing the cross compiler at /usr/include
  # would drag glibc's headers in with them.
  set(_evq_xinc "${CMAKE_BINARY_DIR}/host-headers")
  foreach(_lib doctest fmt)
    find_path(_evq_${_lib}_dir ${_lib} PATHS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH NO_DEFAULT_PATH)
    if(NOT _evq_${_lib}_dir)
      message(FATAL_ERROR "evq: the cross build needs the host's ${_lib} headers (apt-get install doctest-dev libfmt-dev)")
    endif()
    file(COPY "${_evq_${_lib}_dir}/${_lib}" DESTINATION "${_evq_xinc}")
  endforeach()
  add_library(evq_doctest INTERFACE)
  target_include_directories(evq_doctest SYSTEM INTERFACE "${_evq_xinc}")
  add_library(doctest::doctest ALIAS evq_doctest)
  add_library(evq_fmt INTERFACE)
  target_include_directories(evq_fmt SYSTEM INTERFACE "${_evq_xinc}")
  target_compile_definitions(evq_fmt INTERFACE FMT_HEADER_ONLY)
  add_library(fmt::fmt ALIAS evq_fmt)
  # doctest_discover_tests runs the .exe through CMAKE_CROSSCOMPILING_EMULATOR (Wine) to list cases.
  find_file(EVQ_DOCTEST_CMAKE doctest.cmake PATHS /usr/lib/cmake/doctest /usr/share/doctest/cmake
            NO_CMAKE_FIND_ROOT_PATH NO_DEFAULT_PATH)
  if(NOT EVQ_DOCTEST_CMAKE)
    message(FATAL_ERROR "evq: doctest's CMake module not found (apt-get install doctest-dev)")
  endif()
  include(${EVQ_DOCTEST_CMAKE})
  _evq_wrap_doctest_discovery()
  return()
endif()

find_package(doctest QUIET)
if(doctest_FOUND)
  message(STATUS "evq: doctest ${doctest_VERSION} from the system")
else()
  _evq_fetch(doctest https://github.com/doctest/doctest.git v2.4.11)
  list(APPEND CMAKE_MODULE_PATH "${doctest_SOURCE_DIR}/scripts/cmake")
endif()
include(doctest)   # doctest_discover_tests: one ctest test per TEST_CASE
_evq_wrap_doctest_discovery()

find_package(fmt QUIET)
if(fmt_FOUND)
  message(STATUS "evq: fmt ${fmt_VERSION} from the system")
else()
  _evq_fetch(fmt https://github.com/fmtlib/fmt.git 10.2.1)
endif()
