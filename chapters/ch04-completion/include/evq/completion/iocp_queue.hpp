// The completion interface over an I/O completion port (Windows; under Wine on Linux), using ch01's
// CompletionPort and overlapped start helpers. The nearest to one-to-one of the four: IOCP IS a
// completion queue. A read is WSARecv with the lent buffer and an OVERLAPPED; the packet
// GetQueuedCompletionStatusEx returns is the completion; cancel is CancelIoEx; post is
// PostQueuedCompletionStatus.
//
// What the backend still adds: one operation in flight per socket and direction (so a short send
// can be finished before the next one starts), Win32 error codes translated to the portable
// std::errc the interface promises, and AcceptEx's extra socket made for each accept.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "evq/completion/completion_fifo.hpp"
#include "evq/completion/queue.hpp"
#include "evq/completion/socket_table.hpp"
#include "evq/iocp/completion_port.hpp"

namespace evq::completion {

class IocpQueue final : public CompletionQueue {
 public:
  IocpQueue();
  ~IocpQueue() override;

  std::string_view backend() const override { return "iocp"; }
  // CreateIoCompletionPort(sock, port): there is no way to undo it, so on IOCP a socket can be
  // attached to one queue once in its life.
  void attach(NativeSocket sock) override;
  void detach(NativeSocket sock) override;
  void accept(NativeSocket listener, UserData user_data) override;
  // IPv4 loopback endpoints only (ConnectEx wants a bound socket; ch01 binds it to 127.0.0.1:0).
  void connect(NativeSocket sock, const Endpoint& to, UserData user_data) override;
  void read(NativeSocket sock, std::span<std::byte> buffer, UserData user_data) override;
  void write(NativeSocket sock, std::span<const std::byte> buffer, UserData user_data) override;
  void post(UserData user_data, std::size_t bytes = 0) override;
  void cancel(NativeSocket sock) override;
  std::size_t wait(std::span<Completion> out, std::optional<std::chrono::milliseconds> timeout) override;
  std::size_t pending() const override { return pending_; }

 private:
  struct Operation;
  struct SocketState;
  using OperationQueue = std::deque<std::unique_ptr<Operation>>;

  void enqueue(SocketState& s, std::unique_ptr<Operation> op);
  void start(OperationQueue& queue);
  void on_packet(Operation& op, DWORD bytes, std::error_code error);
  void reap(std::optional<std::chrono::milliseconds> timeout);

  evq::WsaSession wsa_;
  evq::iocp::CompletionPort port_{1};
  SocketTable<SocketState> sockets_;  // detached ones retired until their in-flight packets arrive
  CompletionFifo ready_;
  std::vector<OVERLAPPED_ENTRY> entries_ = std::vector<OVERLAPPED_ENTRY>(64);
  std::size_t pending_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace evq::completion
