// The server over loopback: raw requests first (pipelining, errors, timeouts, a graceful stop),
// then clients nobody here wrote: curl, Python's http.client, ab, h2load and wrk.
#include <sys/socket.h>  // recv, send (SIGPIPE is ignored by the test main: a write to a reset peer fails)

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "evq/test/support.hpp"
#include "server_fixture.hpp"

using namespace std::chrono_literals;
using evq::completion::OwnedSocket;
namespace loopback = evq::completion::loopback;
using evq::http::ServerOptions;
using evq::http::test::count;
using evq::http::test::exchange;
using evq::http::test::Running;
using evq::http::test::Site;

namespace {
ssize_t recv_retrying(evq::completion::NativeSocket s, char* buf, std::size_t n);
}

namespace evq::http::test {

std::string exchange(completion::NativeSocket sock, const std::string& request, int responses) {
  if (!request.empty()) loopback::send_all(sock, request);
  std::string got;
  char buf[64 * 1024];
  for (;;) {
    int complete = 0;
    for (std::size_t at = 0;;) {  // count the complete responses in `got`
      const std::size_t head_end = got.find("\r\n\r\n", at);
      if (head_end == std::string::npos) break;
      const std::size_t cl = got.find("Content-Length: ", at);
      if (cl == std::string::npos || cl > head_end) break;
      const std::size_t length = std::stoul(got.substr(cl + 16));
      if (got.size() < head_end + 4 + length) break;
      ++complete;
      at = head_end + 4 + length;
    }
    if (complete >= responses) return got;
    const ssize_t n = recv_retrying(sock, buf, sizeof buf);  // 10 s receive timeout (loopback::connect)
    if (n <= 0) return got;                                  // closed, reset or timed out
    got.append(buf, static_cast<std::size_t>(n));
  }
}

int count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace evq::http::test

namespace {
const std::string kHost = "Host: 127.0.0.1\r\n";

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\n" + kHost + extra + "\r\n";
}

// recv(), again after EINTR. A blocking recv with a receive timeout returns EINTR rather than
// restarting when its thread is interrupted. Here that happened with no signal delivered (strace
// shows none), most likely because of the io_uring this thread created to probe the backends: its
// clean-up runs as task work, which interrupts a timed wait.
ssize_t recv_retrying(evq::completion::NativeSocket s, char* buf, std::size_t n) {
  ssize_t got;
  do got = ::recv(s, buf, n, 0);
  while (got < 0 && errno == EINTR);
  return got;
}

bool closed_by_peer(evq::completion::NativeSocket s) {
  char c;
  const ssize_t n = recv_retrying(s, &c, 1);
  if (n != 0)
    MESSAGE(
        "recv returned " << n
                         << (n < 0 ? std::string(": ") + std::strerror(errno) : std::string(" byte ") + c));
  return n == 0;
}
}  // namespace

TEST_CASE("GET, HEAD, 404 and keep-alive on one connection, on every backend") {
  Site site;
  for (const evq::completion::BackendInfo& b : evq::completion::backends()) {
    if (!b.usable) continue;
    INFO("backend " << b.name);
    Running server(site, {}, b.name);
    OwnedSocket c = loopback::connect(server.listener.port);
    std::string r = exchange(c.get(), get("/hello.txt"), 1);
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(r.find("Content-Type: text/plain") != std::string::npos);
    CHECK(r.ends_with("\r\n\r\nhello\n"));
    // HEAD, then a GET in the same write: a HEAD response has every header (its Content-Length
    // included) and no body, so the GET's response follows its blank line at once.
    // (exchange() counts bodies by Content-Length, so it takes the HEAD's for 6 bytes of body: two
    // "responses" by its count are both of them.)
    r = exchange(c.get(), "HEAD /hello.txt HTTP/1.1\r\n" + kHost + "\r\n" + get("/nothing-here"), 2);
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(r.find("Content-Length: 6\r\n\r\nHTTP/1.1 404 Not Found\r\n") != std::string::npos);
    CHECK(r.find("no such file") != std::string::npos);  // errors have bodies
    r = exchange(c.get(), get("/docs/"), 1);
    CHECK(r.ends_with("<p>docs</p>\n"));  // a directory serves its index.html
    server.stop();
    CHECK(server.server.stats().accepted == 1);  // all of it on one connection
    CHECK(server.server.stats().requests == 4);
  }
}

TEST_CASE("200 clients connecting at once are each answered, with one accept in flight or sixteen") {
  // Several accepts pending on one listener (ServerOptions::accepts_in_flight) must each complete
  // once, and stop() must end every one of them, or run() would never return.
  Site site;
  for (unsigned accepts : {1u, 16u}) {
    INFO(accepts << " accept(s) in flight");
    ServerOptions options;
    options.accepts_in_flight = accepts;
    Running server(site, options);
    std::vector<OwnedSocket> clients;
    for (int i = 0; i < 200; ++i) clients.push_back(loopback::connect(server.listener.port));
    for (OwnedSocket& c : clients) loopback::send_all(c.get(), get("/hello.txt"));
    int answered = 0;
    for (OwnedSocket& c : clients) answered += exchange(c.get(), "", 1).ends_with("\r\n\r\nhello\n");
    CHECK(answered == 200);
    server.stop();  // returns only when every accept loop has ended
    CHECK(server.server.stats().accepted == 200);
    CHECK(server.server.stats().requests == 200);
  }
}

TEST_CASE("fifty requests pipelined in one write come back as fifty responses, in order") {
  Site site;
  for (int i = 0; i < 50; ++i) site.write("f" + std::to_string(i), "file " + std::to_string(i) + "\n");
  Running server(site);
  OwnedSocket c = loopback::connect(server.listener.port);
  std::string burst;
  for (int i = 0; i < 50; ++i) burst += get("/f" + std::to_string(i));
  const std::string r = exchange(c.get(), burst, 50);
  CHECK_MESSAGE(count(r, "HTTP/1.1 200 OK") == 50, r.substr(0, 300));
  std::size_t at = 0;
  for (int i = 0; i < 50; ++i) {
    const std::size_t next = r.find("file " + std::to_string(i) + "\n", at);
    CHECK_MESSAGE(next != std::string::npos, "response " << i << " missing or out of order");
    at = next == std::string::npos ? at : next;
  }
}

TEST_CASE("bodies: Content-Length and chunked POSTs to /echo come back decoded, keep-alive between them") {
  Site site;
  Running server(site);
  OwnedSocket c = loopback::connect(server.listener.port);
  std::string r =
      exchange(c.get(), "POST /echo HTTP/1.1\r\n" + kHost + "Content-Length: 11\r\n\r\nhello world", 1);
  CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(r.ends_with("\r\n\r\nhello world"));
  const std::string big(100000, 'z');
  std::string chunked = "POST /echo HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < big.size(); at += 4096) {
    const std::size_t n = std::min<std::size_t>(4096, big.size() - at);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    chunked += size + big.substr(at, n) + "\r\n";
  }
  chunked += "0\r\n\r\n";
  r = exchange(c.get(), chunked, 1);
  CHECK(r.find("Content-Length: 100000\r\n") != std::string::npos);
  CHECK(r.ends_with(big));
}

TEST_CASE("refused requests get their status and a body, then the connection closes, and others go on") {
  Site site;
  ServerOptions options;
  options.limits = {4096, 1000};
  Running server(site, options);
  OwnedSocket bystander = loopback::connect(server.listener.port);
  struct Case {
    std::string request, status;
  };
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {get("/", "X-Big: " + std::string(5000, 'x') + "\r\n"), "HTTP/1.1 431 Request Header Fields Too Large"},
      {"POST /echo HTTP/1.1\r\n" + kHost + "Content-Length: 5000\r\n\r\n", "HTTP/1.1 413 Content Too Large"},
      {"GET / HTTP/3.0\r\n" + kHost + "\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
      {"POST /echo HTTP/1.1\r\n" + kHost + "Transfer-Encoding: br\r\n\r\n", "HTTP/1.1 501 Not Implemented"},
      {get("/../../etc/passwd"), "HTTP/1.1 400 Bad Request"},
      {"DELETE / HTTP/1.1\r\n" + kHost + "\r\n", "HTTP/1.1 405 Method Not Allowed"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.request.substr(0, 60));
    OwnedSocket c = loopback::connect(server.listener.port);
    const std::string r = exchange(c.get(), k.request, 1);
    CHECK(r.substr(0, r.find("\r\n")) == k.status);
    CHECK(r.find("Content-Length: ") != std::string::npos);  // a body saying why
    const bool framing_intact =
        k.status.find("405") != std::string::npos || k.request.find("..") != std::string::npos;
    if (!framing_intact) CHECK(closed_by_peer(c.get()));  // where the next request begins is unknown
  }
  // 64 KiB of binary garbage: a 400 (or a close), never a crash; the bystander is still served.
  {
    OwnedSocket c = loopback::connect(server.listener.port);
    std::string garbage(64 * 1024, '\0');
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7919 % 251);
    ::send(c.get(), garbage.data(), garbage.size(), 0);
    exchange(c.get(), "", 1);
  }
  CHECK(exchange(bystander.get(), get("/hello.txt"), 1).ends_with("hello\n"));
}

TEST_CASE("slowloris: a head that trickles in past the header timeout gets 408 while others are served") {
  Site site;
  ServerOptions options;
  options.header_timeout = 300ms;
  Running server(site, options);
  OwnedSocket slow = loopback::connect(server.listener.port);
  const std::string request = get("/hello.txt");
  std::string answer;
  // Four bytes, one every 50 ms, then nothing more: the head is never complete. (The trickle stops
  // before the deadline so that every byte sent has been read when the server closes: unread bytes
  // would turn its close into a reset, which may destroy the 408 on its way.)
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE(::send(slow.get(), &request[i], 1, 0) == 1);
    OwnedSocket other = loopback::connect(server.listener.port);  // meanwhile, someone else is served
    CHECK(exchange(other.get(), get("/hello.txt"), 1).ends_with("hello\n"));
    std::this_thread::sleep_for(50ms);
  }
  answer = exchange(slow.get(), "", 1);
  CHECK(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"));
  CHECK(server.server.stats().timeouts >= 1);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout, a busy one is not") {
  Site site;
  ServerOptions options;
  options.idle_timeout = 200ms;
  Running server(site, options);
  OwnedSocket idle = loopback::connect(server.listener.port);
  CHECK(exchange(idle.get(), get("/hello.txt"), 1).ends_with("hello\n"));
  CHECK(closed_by_peer(idle.get()));  // waits (10 s at most) for the server to close it
  CHECK(server.server.stats().timeouts >= 1);
}

TEST_CASE("stop() is graceful: a request under way is answered with Connection close, idle ones close") {
  Site site;
  Running server(site);
  OwnedSocket idle = loopback::connect(server.listener.port);
  OwnedSocket busy = loopback::connect(server.listener.port);
  const std::string request = get("/hello.txt");
  loopback::send_all(busy.get(), request.substr(0, 10));  // a request has begun
  REQUIRE(evq::test::wait_until([&] { return server.server.stats().accepted == 2; }));
  std::this_thread::sleep_for(50ms);  // let the first bytes reach the server's parser
  std::thread stopper([&] { server.stop(); });
  CHECK(closed_by_peer(idle.get()));
  loopback::send_all(busy.get(), request.substr(10));
  const std::string r = exchange(busy.get(), "", 1);
  stopper.join();
  CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(r.find("Connection: close\r\n") != std::string::npos);
  CHECK(r.ends_with("hello\n"));
}

TEST_CASE("curl: two URLs on one kept-alive connection, and a chunked upload echoed whole") {
  evq::http::test::require_tool("curl", "curl");
  Site site;
  Running server(site);
  auto r = evq::http::test::run("curl -sv --http1.1 " + server.url("/hello.txt") + " " +
                                server.url("/index.html"));
  CHECK(r.status == 0);
  CHECK(r.output.find("hello\n") != std::string::npos);
  CHECK(r.output.find("<p>index</p>") != std::string::npos);
  CHECK_MESSAGE(r.output.find("Re-using existing connection") != std::string::npos, r.output);
  const std::string file = (site.dir / "big.bin").string();
  r = evq::http::test::run("curl -s --http1.1 -H 'Transfer-Encoding: chunked' --data-binary @" + file + " " +
                           server.url("/echo") + " | cmp - " + file + " && echo SAME");
  CHECK_MESSAGE(r.output.find("SAME") != std::string::npos, r.output);
  server.stop();
  CHECK(server.server.stats().accepted == 2);
}

TEST_CASE("Python's http.client: persistent GETs, HEAD, a 404 with a body") {
  evq::http::test::require_tool("python3", "python3");
  Site site;
  Running server(site);
  const std::string script =
      "import http.client, sys\n"
      "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)\n"
      "for path, method in [('/hello.txt', 'GET'), ('/big.bin', 'GET'), ('/hello.txt', 'HEAD'), ('/nope', 'GET')]:\n"
      "    c.request(method, path)\n"
      "    r = c.getresponse()\n"
      "    body = r.read()\n"
      "    print(method, path, r.status, len(body), r.getheader('Content-Length'))\n";
  site.write("client.py", script);
  auto r = evq::http::test::run("python3 " + (site.dir / "client.py").string() + " " +
                                std::to_string(server.listener.port));
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("GET /hello.txt 200 6 6") != std::string::npos);
  CHECK(r.output.find("GET /big.bin 200 204800 204800") != std::string::npos);
  CHECK(r.output.find("HEAD /hello.txt 200 0 6") != std::string::npos);
  CHECK(r.output.find("GET /nope 404") != std::string::npos);
  server.stop();
  CHECK(server.server.stats().accepted == 1);  // one persistent connection for all four
}

TEST_CASE("ab -k: 5000 keep-alive requests from 50 clients, none failed") {
  evq::http::test::require_tool("ab", "apache2-utils");
  Site site;
  Running server(site);
  auto r = evq::http::test::run("ab -q -k -n 5000 -c 50 " + server.url("/hello.txt"));
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("Complete requests:      5000") != std::string::npos);
  CHECK(r.output.find("Failed requests:        0") != std::string::npos);
  CHECK(r.output.find("Keep-Alive requests:    5000") != std::string::npos);
}

TEST_CASE("h2load --h1: 5000 requests over 20 clients, every one 2xx") {
  evq::http::test::require_tool("h2load", "nghttp2-client");
  Site site;
  Running server(site);
  auto r = evq::http::test::run("h2load --h1 -n 5000 -c 20 -m 4 " + server.url("/hello.txt"));
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK_MESSAGE(r.output.find("5000 succeeded, 0 failed, 0 errored") != std::string::npos, r.output);
  CHECK(r.output.find("status codes: 5000 2xx") != std::string::npos);
}

TEST_CASE("wrk: one second of load, every response 2xx, no socket errors") {
  evq::http::test::require_tool("wrk", "wrk");
  Site site;
  Running server(site);
  auto r = evq::http::test::run("wrk -t1 -c32 -d1s " + server.url("/hello.txt"));
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("requests in") != std::string::npos);
  CHECK_MESSAGE(r.output.find("Non-2xx") == std::string::npos, r.output);
  CHECK_MESSAGE(r.output.find("Socket errors") == std::string::npos, r.output);
}

TEST_CASE(
    "a peer that never reads holds one bounded write, a reset costs only its connection, stop() still ends") {
  Site site;
  ServerOptions options;
  options.grace = 300ms;
  Running server(site, options);
  OwnedSocket hog = loopback::connect(server.listener.port);
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += get("/big.bin");  // 40 MB of responses it will never read
  loopback::send_all(hog.get(), burst);
  OwnedSocket reset = loopback::connect(server.listener.port);
  loopback::send_all(reset.get(), "GET /big.bin HTTP/1.1\r\n");  // half a request, then a reset
  loopback::reset_on_close(reset.get());
  reset.reset();
  for (int i = 0; i < 5; ++i) {  // everyone else is served meanwhile
    OwnedSocket other = loopback::connect(server.listener.port);
    CHECK(exchange(other.get(), get("/hello.txt"), 1).ends_with("hello\n"));
  }
  server.stop();  // the hog's write is cancelled once the grace is over; run() returns
  CHECK(server.server.stats().closed == server.server.stats().accepted);
}
