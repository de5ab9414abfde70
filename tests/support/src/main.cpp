// doctest's main for every evq test program.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#ifndef _WIN32
#include <csignal>
#endif

int main(int argc, char** argv) {
#ifndef _WIN32
  // A test that writes to a socket its peer has reset must see EPIPE, not die of SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
#endif
  doctest::Context context(argc, argv);
  return context.run();
}
