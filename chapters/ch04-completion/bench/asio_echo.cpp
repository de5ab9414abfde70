#include "asio_echo.hpp"

#include <array>
#include <asio.hpp>

namespace evq::completion::bench {
namespace {

using asio::ip::tcp;

// One connection: read what comes, write it back whole, read again. The session keeps itself
// alive through the shared_ptr each pending handler holds; an error or end of stream ends it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}
  void start() { read(); }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](std::error_code error, std::size_t n) {
                              if (!error) self->write(n);
                            });
  }
  void write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                      [self = shared_from_this()](std::error_code error, std::size_t) {
                        if (!error) self->read();
                      });
  }
  tcp::socket socket_;
  std::array<char, 16 * 1024> buffer_{};
};

}  // namespace

struct AsioEchoServer::Impl {
  asio::io_context context{1};  // one thread: the hint lets Asio drop its internal locking
  tcp::acceptor acceptor{context};
  void accept() {
    acceptor.async_accept([this](std::error_code error, tcp::socket socket) {
      if (!error) {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(socket))->start();
      }
      // Keep accepting after a connection, or one that died in the backlog; any other error (a full
      // descriptor table) ends accepting rather than spinning on it: this is a benchmark peer.
      if (!error || error == asio::error::connection_aborted) accept();
    });
  }
};

AsioEchoServer::AsioEchoServer(UniqueFd listener) : impl_(std::make_unique<Impl>()) {
  impl_->acceptor.assign(tcp::v4(), listener.release());
  impl_->accept();
}

AsioEchoServer::~AsioEchoServer() = default;

void AsioEchoServer::run() {
  impl_->context.run();
}

void AsioEchoServer::stop() {
  impl_->context.stop();
}

}  // namespace evq::completion::bench
