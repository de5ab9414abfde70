# Cross-compile the Windows chapters on Linux with mingw-w64, and run what it builds under Wine.
#
#   cmake --preset windows-wine        (or: cmake -B build/windows-wine --toolchain <this file>)
#
# Debian: apt-get install g++-mingw-w64-x86-64-posix wine64. The "-posix" compilers give
# std::thread and std::mutex; the "-win32" ones do not.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_evq_triple x86_64-w64-mingw32)
find_program(CMAKE_C_COMPILER NAMES ${_evq_triple}-gcc-posix ${_evq_triple}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${_evq_triple}-g++-posix ${_evq_triple}-g++ REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${_evq_triple}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${_evq_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest, doctest's test discovery and add_test(... COMMAND target) all run .exe files through this.
# tools/wine-run gives the build a Wine prefix of its own (inside the build directory) and keeps
# Wine quiet, so a test's output is the test's.
find_program(EVQ_WINE NAMES wine wine64 wine-stable)
if(EVQ_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/../../tools/wine-run;${CMAKE_BINARY_DIR}/wineprefix")
else()
  message(WARNING "evq: Wine not found; the Windows programs build but ctest cannot run them "
                  "(apt-get install wine64)")
endif()
