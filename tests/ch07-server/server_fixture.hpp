// What the ch07 server tests share: a directory of files to serve, a server running on a pool in
// this process, and running an external client (curl, ab, h2load, wrk, python3) to read its output.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/http/server.hpp"

namespace evq::http::test {

// A fresh directory of files, removed at the end: index.html, hello.txt ("hello\n"), a 200 KiB
// big.bin, and docs/index.html.
struct Site {
  Site() {
    static int n = 0;
    dir = std::filesystem::temp_directory_path() /
          ("evq-ch07-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir / "docs");
    write("index.html", "<p>index</p>\n");
    write("hello.txt", "hello\n");
    write("docs/index.html", "<p>docs</p>\n");
    std::string big(200 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    write("big.bin", big);
  }
  ~Site() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
  }
  std::filesystem::path dir;
};

// The server on its own pool, serving `site`, until stop() or the end of the scope.
struct Running {
  explicit Running(const Site& site, ServerOptions options = {}, std::string backend = "")
      : listener(completion::loopback::listen(1024)),
        pool(coro::Pool::Options{0, 0, backend.empty() ? completion::default_backend() : backend}),
        server(pool, listener.socket.get(), with_root(options, site)),
        thread([this] { server.run(); }) {}
  ~Running() { stop(); }
  void stop() {
    if (thread.joinable()) {
      server.stop();
      thread.join();
    }
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(listener.port) + path;
  }
  static ServerOptions with_root(ServerOptions o, const Site& site) {
    o.root = site.dir;
    return o;
  }

  completion::loopback::Listener listener;  // first: it outlives the pool, which has it associated
  coro::Pool pool;
  HttpServer server;
  std::thread thread;
};

// Runs a shell command and returns what it printed (stdout and stderr), and its exit status.
struct Ran {
  int status = -1;
  std::string output;
};
inline Ran run(const std::string& command) {
  Ran r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "could not run: " << command);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  r.status = ::pclose(p);
  return r;
}

// A client nobody here wrote must be installed (tools/lab setup installs them on Debian).
inline void require_tool(const std::string& tool, const std::string& package) {
  const Ran r = run("command -v " + tool);
  REQUIRE_MESSAGE(r.status == 0,
                  tool << " is not installed: apt-get install " << package << " (tools/lab setup does it)");
}

// Sends `request` and reads until the peer closes or `responses` complete responses are in.
std::string exchange(completion::NativeSocket sock, const std::string& request, int responses);
int count(const std::string& haystack, const std::string& needle);

}  // namespace evq::http::test
