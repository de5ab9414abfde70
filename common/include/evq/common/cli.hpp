// A small command-line parser so every program takes --help and answers a bad argument clearly.
//
//   evq::Cli cli("epoll_basics", "The five steps of an event queue, told with epoll.");
//   cli.option("clients", "how many clients to run", "4");
//   cli.flag("quiet", "do not narrate");
//   cli.parse(argc, argv);            // --help prints usage and exits 0; a bad argument exits 2
//   int clients = cli.get_int("clients", 1, 10000);
//   return cli.run([&] { ... return 0; });  // an exception: "epoll_basics: what" and exit 1
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace evq {

class Cli {
 public:
  Cli(std::string program, std::string summary);

  Cli& option(std::string name, std::string help, std::string default_value);
  Cli& flag(std::string name, std::string help);
  // Free text after the option table in --help (examples, what to try).
  Cli& epilog(std::string text);

  // Accepts --name value, --name=value and --flag. Exits 0 after --help, 2 on a bad argument.
  void parse(int argc, char** argv);

  const std::string& get(std::string_view name) const;
  // An integer option in [min, max]; anything else exits 2 with a message naming the option.
  long long get_int(std::string_view name, long long min, long long max) const;
  bool has(std::string_view flag) const;

  std::string usage() const;
  [[noreturn]] void fail(std::string_view message) const;

  // Runs the program's body and returns its exit status. An exception that escapes the body is
  // reported as "program: what" on stderr with exit status 1, so every program fails the same
  // readable way (a bad argument, found by parse() or get_int(), has already exited with 2).
  template <typename Body>
  int run(Body&& body) const {
    try {
      return body();
    } catch (const std::exception& e) {
      report(e.what());
      return 1;
    }
  }
  // "program: message" on stderr.
  void report(std::string_view message) const;

 private:
  struct Entry {
    std::string name, help, value;
    bool is_flag = false;
    bool set = false;
  };
  const Entry& find(std::string_view name) const;
  Entry* lookup(std::string_view name);

  std::string program_, summary_, epilog_;
  std::vector<Entry> entries_;
};

}  // namespace evq
