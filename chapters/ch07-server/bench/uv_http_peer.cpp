// uv_http_peer: the benchmark's libuv peer, an HTTP server written the way a libuv user would: one
// uv_loop per thread (libuv's loops are single-threaded), each with its own listening socket on the
// same port (SO_REUSEPORT: the kernel spreads the connections), callbacks for reads and writes. It
// serves one prebuilt response (see peer_common.hpp).
//
//   uv_http_peer --file www/hello.txt --threads 4        # prints "serving on 127.0.0.1 port N"
#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "peer_common.hpp"

namespace {

const std::string* g_response = nullptr;

struct Connection {
  uv_tcp_t handle;
  std::string pending;
  char buffer[16 * 1024];
};

struct Write {
  uv_write_t request;
  std::string data;
};

void on_close(uv_handle_t* h) {
  delete reinterpret_cast<Connection*>(h->data);
}

void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  *buf = uv_buf_init(c->buffer, sizeof c->buffer);
}

void on_written(uv_write_t* req, int) {
  delete reinterpret_cast<Write*>(req->data);
}

void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
  auto* c = static_cast<Connection*>(stream->data);
  if (n < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_close);
    return;
  }
  c->pending.append(c->buffer, static_cast<std::size_t>(n));
  const int requests = evq::http::bench::take_requests(c->pending);
  if (requests == 0) return;
  auto* w = new Write;
  w->request.data = w;
  for (int i = 0; i < requests; ++i) w->data += *g_response;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (uv_write(&w->request, stream, &buf, 1, on_written) != 0) delete w;
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* c = new Connection;
  c->handle.data = c;
  uv_tcp_init(server->loop, &c->handle);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->handle)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->handle), on_close);
    return;
  }
  uv_tcp_nodelay(&c->handle, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->handle), on_alloc, on_read);
}

// A listening socket on 127.0.0.1:port with SO_REUSEPORT set before bind (libuv 1.44 has no flag
// for it), handed to libuv. port 0: the kernel picks one; it is returned.
int reuseport_listener(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind failed");
  return fd;
}

struct LoopThread {
  uv_loop_t loop;
  uv_tcp_t server;
  uv_async_t stop;
};

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("uv_http_peer",
               "The HTTP benchmark's libuv peer: one prebuilt response, a uv_loop per thread.");
  cli.option("file", "the file whose contents every response carries", "");
  cli.option("threads", "threads, each with its own uv_loop and listener (SO_REUSEPORT)", "4");
  cli.parse(argc, argv);
  if (cli.get("file").empty()) cli.fail("--file is required");
  return cli.run([&] {
    const std::string response = evq::http::bench::prebuilt_response(cli.get("file"));
    g_response = &response;
    const int threads = static_cast<int>(cli.get_int("threads", 1, 256));
    std::vector<std::unique_ptr<LoopThread>> loops;
    int port = 0;
    for (int i = 0; i < threads; ++i) {
      auto t = std::make_unique<LoopThread>();
      uv_loop_init(&t->loop);
      uv_tcp_init(&t->loop, &t->server);
      const int fd = reuseport_listener(port);
      if (port == 0) {
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
        port = ntohs(bound.sin_port);
      }
      uv_tcp_open(&t->server, fd);
      if (uv_listen(reinterpret_cast<uv_stream_t*>(&t->server), 4096, on_connection) != 0)
        throw std::runtime_error("uv_listen failed");
      uv_async_init(&t->loop, &t->stop, [](uv_async_t* a) { uv_stop(a->loop); });
      loops.push_back(std::move(t));
    }
    // SIGINT/SIGTERM: every loop is told to stop (uv_async_send is the one thread-safe call).
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &wanted, nullptr);  // inherited by the loop threads
    std::vector<std::thread> running;
    for (auto& t : loops) running.emplace_back([&t] { uv_run(&t->loop, UV_RUN_DEFAULT); });
    fmt::print("serving on 127.0.0.1 port {} with {} threads\n", port, threads);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&wanted, &sig);
    for (auto& t : loops) uv_async_send(&t->stop);
    for (std::thread& t : running) t.join();
    fmt::print("summary: stopped by signal {}\n", sig);
    return 0;
  });
}
