// The hostile suite's main: doctest's options first, then the server to attack, as ctest passes it:
//
//   hostile-tests [doctest options] --name "ch02 echo_level" --cap 16384 [--wine] --server PROGRAM ARGS...
//
// Everything after --server is the server's command line. Listing the cases needs no server.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "server_process.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a write to a server that reset us must fail, not kill the test
  evq::hostile::ServerSpec spec;
  std::vector<char*> doctest_args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--server") {
      for (++i; i < argc; ++i) spec.argv.emplace_back(argv[i]);
      break;
    }
    if (a == "--name" && i + 1 < argc)
      spec.name = argv[++i];
    else if (a == "--cap" && i + 1 < argc)
      spec.cap_bytes = std::stoull(argv[++i]);
    else if (a == "--wine")
      spec.wine = true;
    else
      doctest_args.push_back(argv[i]);
  }
  evq::hostile::set_spec(std::move(spec));
  doctest::Context context(static_cast<int>(doctest_args.size()), doctest_args.data());
  return context.run();
}
