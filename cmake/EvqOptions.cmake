# Language level, warnings, sanitizers and the lab source switch.

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Debug CACHE STRING "Build type" FORCE)
  message(STATUS "evq: no CMAKE_BUILD_TYPE given, using Debug")
endif()

# Sanitizers are on by default on a native build, as in a lab course: a bug in a student's code
# should stop the test that found it, not corrupt a later one. The release preset turns them off.
if(CMAKE_CROSSCOMPILING OR WIN32)
  set(_evq_default_sanitize "")
else()
  set(_evq_default_sanitize "address,undefined")
endif()
set(EVQ_SANITIZE "${_evq_default_sanitize}" CACHE STRING
    "Sanitizers for every target: address,undefined | thread | (empty for none)")

# Labs: every chapter's lab tests build against one of two copies of the student's files.
# A fresh clone has solutions/ and builds those, so its tests pass; a student handout has no
# solutions/ and builds exercises/. `tools/lab grade` forces exercises.
if(EXISTS "${CMAKE_SOURCE_DIR}/solutions")
  set(_evq_default_labs solutions)
else()
  set(_evq_default_labs exercises)
endif()
set(EVQ_LAB_SOURCE "${_evq_default_labs}" CACHE STRING "Which lab sources to build: solutions or exercises")
set_property(CACHE EVQ_LAB_SOURCE PROPERTY STRINGS solutions exercises)
if(NOT EVQ_LAB_SOURCE MATCHES "^(solutions|exercises)$")
  message(FATAL_ERROR "EVQ_LAB_SOURCE must be 'solutions' or 'exercises', not '${EVQ_LAB_SOURCE}'")
endif()
if(NOT EXISTS "${CMAKE_SOURCE_DIR}/${EVQ_LAB_SOURCE}")
  message(FATAL_ERROR "EVQ_LAB_SOURCE is '${EVQ_LAB_SOURCE}' but ${CMAKE_SOURCE_DIR}/${EVQ_LAB_SOURCE} does not exist")
endif()
message(STATUS "evq: labs build from ${EVQ_LAB_SOURCE}/")
# A lab test that runs longer than this is killed and graded "timed out" (an infinite loop or a
# missed wake-up). Every wait inside a test has its own 10 s deadline, so a correct solution is far
# below it; the chapters' own tests keep ctest's 120 s backstop.
set(EVQ_LAB_TIMEOUT 30 CACHE STRING "Seconds a lab test may run before it counts as timed out")
# Instructors only (prove-labs): also build every deliberately wrong solution in
# tests/labs/<chapter>/wrong/<lab>/*.mutation, each against its lab's tests (ctest label wrong-chNN).
option(EVQ_LAB_WRONG "Build the labs' deliberately wrong solutions (prove-labs)" OFF)
if(EVQ_LAB_WRONG)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)  # tools/mutate.py writes them
endif()
# One interface target carries the flags every evq target uses.
add_library(evq_flags INTERFACE)
add_library(evq::flags ALIAS evq_flags)
if(MSVC)
  # /utf-8: the sources are UTF-8 (fmt refuses anything else under MSVC), and so is their output.
  target_compile_options(evq_flags INTERFACE /W4 /permissive- /utf-8 /Zc:__cplusplus /EHsc)
else()
  target_compile_options(evq_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wno-sign-conversion -Wnon-virtual-dtor)
endif()
if(WIN32)
  # Keep <windows.h> small and free of min/max macros; target Windows 8+ (GetQueuedCompletionStatusEx
  # is Vista+, SetFileCompletionNotificationModes too).
  target_compile_definitions(evq_flags INTERFACE WIN32_LEAN_AND_MEAN NOMINMAX _WIN32_WINNT=0x0602)
  if(MINGW)
    # A static runtime, so Wine (or a Windows box) needs no mingw DLLs beside the .exe.
    target_link_options(evq_flags INTERFACE -static)
  endif()
endif()
if(EVQ_SANITIZE AND MSVC)
  # Visual Studio has AddressSanitizer (/fsanitize=address) and nothing else of the list.
  if(EVQ_SANITIZE MATCHES "address")
    target_compile_options(evq_flags INTERFACE /fsanitize=address)
    message(STATUS "evq: sanitizers on: address (MSVC has no UBSan or TSan; the rest of '${EVQ_SANITIZE}' is ignored)")
  else()
    message(STATUS "evq: EVQ_SANITIZE='${EVQ_SANITIZE}' has nothing MSVC supports; building without sanitizers")
  endif()
elseif(EVQ_SANITIZE)
  target_compile_options(evq_flags INTERFACE -fsanitize=${EVQ_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(evq_flags INTERFACE -fsanitize=${EVQ_SANITIZE})
  if(EVQ_SANITIZE MATCHES "undefined")
    # -fno-sanitize=vptr: UBSan's vptr check probes memory by writing it into a pipe, so in a
    # process that is out of descriptors (the hostile suite's EMFILE case) every virtual call it has
    # not cached yet is reported as "invalid vptr" and the program dies. ASan still catches the
    # use-after-free that really makes a vptr invalid.
    target_compile_options(evq_flags INTERFACE -fno-sanitize-recover=undefined -fno-sanitize=vptr)
    target_link_options(evq_flags INTERFACE -fno-sanitize=vptr)
  endif()
  message(STATUS "evq: sanitizers on: ${EVQ_SANITIZE}")
endif()

find_package(Threads REQUIRED)
target_link_libraries(evq_flags INTERFACE Threads::Threads)
