#include "evq/completion/iocp_queue.hpp"

#include <fmt/core.h>

#include <cstring>
#include <stdexcept>

#include "evq/iocp/overlapped_io.hpp"

namespace evq::completion {
namespace {
constexpr ULONG_PTR kSocketKey = 1;  // every socket's packets carry it; the OVERLAPPED says which operation

// The interface promises portable error codes (std::errc); IOCP reports Win32 ones. Translate the
// ones a program tests for; keep the rest as they are (their message still names them).
std::error_code portable(std::error_code e) {
  if (!e) return e;
  switch (e.value()) {
    case ERROR_OPERATION_ABORTED:
      return operation_aborted();
    case ERROR_NETNAME_DELETED:  // what a WSARecv pending on a reset connection completes with
    case WSAECONNRESET:
      return std::make_error_code(std::errc::connection_reset);
    case ERROR_CONNECTION_REFUSED:
    case WSAECONNREFUSED:
      return std::make_error_code(std::errc::connection_refused);
    case ERROR_CONNECTION_ABORTED:
    case WSAECONNABORTED:
      return std::make_error_code(std::errc::connection_aborted);
    case WSAESHUTDOWN:
    case ERROR_GRACEFUL_DISCONNECT:
      return std::make_error_code(std::errc::broken_pipe);
    case WSAEMFILE:
      return std::make_error_code(std::errc::too_many_files_open);
    case WSAENOBUFS:
      return std::make_error_code(std::errc::no_buffer_space);
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
      return std::make_error_code(std::errc::not_enough_memory);
    default:
      return e;
  }
}
}  // namespace

struct IocpQueue::Operation {
  OVERLAPPED overlapped{};  // lent to the kernel with the buffer; the packet hands its address back
  Op op = Op::post;
  UserData user_data = 0;
  NativeSocket sock = INVALID_SOCKET;
  std::byte* data = nullptr;
  std::size_t size = 0;
  std::size_t done = 0;
  std::uint16_t port = 0;  // connect
  OwnedSocket accepted;    // accept: AcceptEx wants the new socket made beforehand
  char addresses[evq::iocp::kAcceptAddressBytes]{};
  bool input = true;
  bool cancel_requested = false;
  SocketState* socket = nullptr;
};

struct IocpQueue::SocketState {
  NativeSocket sock = INVALID_SOCKET;
  OperationQueue input, output;
  bool input_busy = false, output_busy = false;
  bool idle() const { return !input_busy && !output_busy; }
};

IocpQueue::IocpQueue() = default;

IocpQueue::~IocpQueue() {
  for (NativeSocket sock : sockets_.sockets()) cancel(sock);
  // The kernel owns the OVERLAPPEDs and buffers of what is in flight until their packets come back.
  for (int rounds = 0; in_flight_ > 0 && rounds < 50; ++rounds) {
    try {
      reap(std::chrono::milliseconds(100));
    } catch (...) {
      break;
    }
  }
}

void IocpQueue::attach(NativeSocket sock) {
  sockets_.add(sock, backend(), [&] { port_.associate(sock, kSocketKey); }).sock = sock;
}

void IocpQueue::detach(NativeSocket sock) {
  if (!sockets_.find(sock)) return;
  cancel(sock);
  // The packets of operations already in flight still point at this state: it stays retired until
  // they have arrived.
  sockets_.retire(sockets_.remove(sock));
}

void IocpQueue::accept(NativeSocket listener, UserData user_data) {
  SocketState& s = sockets_.get(listener, "accept", backend());
  auto op = std::make_unique<Operation>();
  op->op = Op::accept;
  op->user_data = user_data;
  enqueue(s, std::move(op));
}

void IocpQueue::connect(NativeSocket sock, const Endpoint& to, UserData user_data) {
  SocketState& s = sockets_.get(sock, "connect", backend());
  if (to.family() != AF_INET)
    throw std::invalid_argument("connect: the iocp backend connects to IPv4 loopback only");
  sockaddr_in sin{};
  std::memcpy(&sin, &to.storage, sizeof sin);
  auto op = std::make_unique<Operation>();
  op->op = Op::connect;
  op->user_data = user_data;
  op->port = ntohs(sin.sin_port);
  op->input = false;
  enqueue(s, std::move(op));
}

void IocpQueue::read(NativeSocket sock, std::span<std::byte> buffer, UserData user_data) {
  SocketState& s = sockets_.get(sock, "read", backend());
  auto op = std::make_unique<Operation>();
  op->op = Op::read;
  op->user_data = user_data;
  op->data = buffer.data();
  op->size = buffer.size();
  enqueue(s, std::move(op));
}

void IocpQueue::write(NativeSocket sock, std::span<const std::byte> buffer, UserData user_data) {
  SocketState& s = sockets_.get(sock, "write", backend());
  auto op = std::make_unique<Operation>();
  op->op = Op::write;
  op->user_data = user_data;
  op->data = const_cast<std::byte*>(buffer.data());  // only read through: WSASend
  op->size = buffer.size();
  op->input = false;
  enqueue(s, std::move(op));
}

void IocpQueue::enqueue(SocketState& s, std::unique_ptr<Operation> op) {
  ++pending_;
  op->sock = s.sock;
  op->socket = &s;
  OperationQueue& queue = op->input ? s.input : s.output;
  bool busy = op->input ? s.input_busy : s.output_busy;
  queue.push_back(std::move(op));
  if (!busy) start(queue);
}

// [snippet iocp-start]
void IocpQueue::start(OperationQueue& queue) {
  while (!queue.empty()) {
    Operation& op = *queue.front();
    op.overlapped = OVERLAPPED{};  // a fresh OVERLAPPED for every call, also when a send resumes
    evq::iocp::Started started;
    switch (op.op) {
      case Op::read:
        started = evq::iocp::start_recv(op.sock, {reinterpret_cast<char*>(op.data), op.size}, op.overlapped);
        break;
      case Op::write:
        started = evq::iocp::start_send(
            op.sock, {reinterpret_cast<const char*>(op.data) + op.done, op.size - op.done}, op.overlapped);
        break;
      case Op::accept:
        try {  // AcceptEx wants its socket made first; out of sockets, the accept fails to start
          op.accepted = evq::overlapped_tcp_socket(evq::socket_family(op.sock));  // the listener's family
          started = evq::iocp::start_accept(op.sock, op.accepted.get(), op.addresses, op.overlapped);
        } catch (const std::system_error& e) {
          started.state = evq::iocp::Started::failed;
          started.error = e.code();
        }
        break;
      case Op::connect:
        started = evq::iocp::start_connect(op.sock, op.port, op.overlapped);
        break;
      case Op::post:
        break;
    }
    if (started.packet_queued(false)) {  // pending, or done at once: either way a packet will come
      (op.input ? op.socket->input_busy : op.socket->output_busy) = true;
      ++in_flight_;
      return;
    }
    // It failed to start: no packet will ever come, so it completes here, and the next one starts.
    ready_.finish(op, op.done, portable(started.error));
    queue.pop_front();
  }
}
// [/snippet iocp-start]

void IocpQueue::cancel(NativeSocket sock) {
  SocketState* state = sockets_.find(sock);
  if (!state) return;
  SocketState& s = *state;
  for (auto [queue, busy] : {std::pair{&s.input, s.input_busy}, std::pair{&s.output, s.output_busy}}) {
    auto first_waiting = queue->begin() + (busy ? 1 : 0);
    for (auto op = first_waiting; op != queue->end(); ++op)
      ready_.finish(**op, (*op)->done, operation_aborted());
    queue->erase(first_waiting, queue->end());
    if (busy && !queue->front()->cancel_requested) {
      Operation& op = *queue->front();
      op.cancel_requested = true;
      // ERROR_NOT_FOUND means it already finished: its packet, with the real result, is on its way.
      ::CancelIoEx(reinterpret_cast<HANDLE>(op.sock), &op.overlapped);
    }
  }
}

void IocpQueue::on_packet(Operation& op, DWORD bytes, std::error_code error) {
  SocketState& s = *op.socket;
  OperationQueue& queue = op.input ? s.input : s.output;
  --in_flight_;
  (op.input ? s.input_busy : s.output_busy) = false;
  error = portable(error);
  if (op.op == Op::write && !error) {
    op.done += bytes;
    if (op.done < op.size && !op.cancel_requested) return start(queue);  // a short send: the rest
  }
  if (!error && op.op == Op::accept) {
    try {
      evq::iocp::finish_accept(op.sock, op.accepted.get());  // SO_UPDATE_ACCEPT_CONTEXT
    } catch (const std::system_error& e) {
      error = e.code();
    }
  }
  if (!error && op.op == Op::connect) {
    try {
      evq::iocp::finish_connect(op.sock);  // SO_UPDATE_CONNECT_CONTEXT
    } catch (const std::system_error& e) {
      error = e.code();
    }
  }
  std::size_t reported = op.op == Op::read ? bytes : op.op == Op::write ? op.done : 0;
  ready_.finish(op, reported, error, !error && op.op == Op::accept ? std::move(op.accepted) : OwnedSocket());
  queue.pop_front();
  if (!queue.empty()) start(queue);
  sockets_.release_if_done(s);
}

// [snippet iocp-reap]
void IocpQueue::reap(std::optional<std::chrono::milliseconds> timeout) {
  evq::iocp::GetManyResult got = port_.get_many(entries_, timeout);  // GetQueuedCompletionStatusEx
  for (std::size_t i = 0; i < got.count; ++i) {
    const OVERLAPPED_ENTRY& e = entries_[i];
    if (e.lpOverlapped == nullptr) {  // a post(): the key carried the user data
      ready_.posted(static_cast<UserData>(e.lpCompletionKey), e.dwNumberOfBytesTransferred);
      continue;
    }
    auto* op = reinterpret_cast<Operation*>(e.lpOverlapped);  // OVERLAPPED is its first member
    on_packet(*op, e.dwNumberOfBytesTransferred, evq::iocp::entry_error(e));
  }
}
// [/snippet iocp-reap]

void IocpQueue::post(UserData user_data, std::size_t bytes) {
  port_.post(static_cast<ULONG_PTR>(user_data), static_cast<DWORD>(bytes), nullptr);
}

std::size_t IocpQueue::wait(std::span<Completion> out, std::optional<std::chrono::milliseconds> timeout) {
  reap(ready_.empty() ? timeout : std::chrono::milliseconds(0));
  CompletionFifo::HandedOut handed = ready_.hand_out(out);
  pending_ -= handed.operations;  // posts were never counted as pending
  return handed.count;
}

}  // namespace evq::completion
