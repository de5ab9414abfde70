// iocp_io_functions: the rest of the calls that complete through a completion port, one short
// scene each, all on one port: datagrams (WSASendTo/WSARecvFrom, WSASendMsg/WSARecvMsg with
// IP_PKTINFO), a named pipe (ConnectNamedPipe, DeviceIoControl(FSCTL_PIPE_LISTEN),
// TransactNamedPipe), a byte-range lock (LockFileEx) and a directory watch (ReadDirectoryChangesW).
//
//   tools/lab demo ch01                        # runs it with the other ch01 demos, under Wine
//   iocp_io_functions.exe --only pipe          # one scene: datagrams, recvmsg, pipe, lock, directory
//
// What you should see: each scene starts its operation, prints "pending" or "completed at once",
// then the packet that arrives for it, key and bytes and what it carried. Under Wine the lock scene
// says that its second lock never completes: Wine leaves an overlapped lock wait pending for ever.
#include <fmt/core.h>
#include <fmt/xchar.h>

#include <array>
#include <string>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/datagram_io.hpp"
#include "evq/iocp/directory_watch.hpp"
#include "evq/iocp/file_lock.hpp"
#include "evq/iocp/overlapped_io.hpp"
#include "evq/iocp/pipe_io.hpp"

namespace {

using evq::iocp::CompletionPort;
using evq::iocp::GetResult;
using evq::iocp::GetStatus;
using evq::iocp::Started;

// The next packet, described; throws if none comes within 10 s.
GetResult next(const CompletionPort& port, evq::Narrator& say) {
  GetResult g = port.get(std::chrono::seconds(10));
  if (!g.has_packet())
    throw std::runtime_error(fmt::format("no packet within 10 s ({})", evq::iocp::to_string(g.status)));
  say.step("  GetQueuedCompletionStatus -> key {}, {} bytes, {}{}", g.packet.key, g.packet.bytes,
           evq::iocp::to_string(g.status), g.error ? " (" + g.error.message() + ")" : "");
  return g;
}

void datagrams(evq::Narrator& say) {
  say.title("Datagrams: WSASendTo and WSARecvFrom");
  CompletionPort port(1);
  evq::UniqueSocket receiver = evq::iocp::udp_loopback_socket(AF_INET6);
  evq::UniqueSocket sender = evq::iocp::udp_loopback_socket(AF_INET6);
  port.associate(receiver.get(), 1);
  port.associate(sender.get(), 2);
  say.step("two UDP sockets on ::1 ({} and {}), associated with keys 1 and 2",
           evq::iocp::address_of(receiver.get()).to_string(),
           evq::iocp::address_of(sender.get()).to_string());
  std::array<char, 64> buffer{};
  evq::iocp::RecvFrom from;
  OVERLAPPED recv_op{};
  say.step("WSARecvFrom(receiver) -> {}",
           evq::iocp::to_string(evq::iocp::start_recv_from(receiver.get(), buffer, from, recv_op).state));
  say.aside("the sender's address will be written into the lent RecvFrom, like the data");
  const std::string datagram = "hello, datagram";
  OVERLAPPED send_op{};
  say.step("WSASendTo(sender, \"{}\") -> {}", datagram,
           evq::iocp::to_string(evq::iocp::start_send_to(sender.get(), datagram,
                                                         evq::iocp::address_of(receiver.get()), send_op)
                                    .state));
  for (int i = 0; i < 2; ++i) {
    GetResult g = next(port, say);
    if (g.packet.overlapped == &recv_op)
      say.step("  the receive: \"{}\" from {}", std::string(buffer.data(), g.packet.bytes),
               from.from.to_string());
  }
}

void recvmsg(evq::Narrator& say) {
  say.title("WSARecvMsg (found through WSAIoctl) and IP_PKTINFO");
  CompletionPort port(1);
  evq::UniqueSocket receiver = evq::iocp::udp_loopback_socket(AF_INET);
  evq::UniqueSocket sender = evq::iocp::udp_loopback_socket(AF_INET);
  port.associate(receiver.get(), 1);
  port.associate(sender.get(), 2);
  evq::iocp::enable_packet_info(receiver.get());
  say.step("setsockopt(receiver, IP_PKTINFO, 1): each datagram will also say where it was sent to");
  std::array<char, 64> buffer{};
  evq::iocp::RecvMsg msg;
  OVERLAPPED recv_op{};
  say.step("WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_WSARECVMSG), then WSARecvMsg -> {}",
           evq::iocp::to_string(evq::iocp::start_recv_msg(receiver.get(), buffer, msg, recv_op).state));
  evq::iocp::SendMsg send_state;
  OVERLAPPED send_op{};
  const std::string datagram = "where did I go?";
  say.step("WSASendMsg(sender, \"{}\") -> {}", datagram,
           evq::iocp::to_string(evq::iocp::start_send_msg(sender.get(), datagram,
                                                          evq::iocp::address_of(receiver.get()), send_state,
                                                          send_op)
                                    .state));
  for (int i = 0; i < 2; ++i) {
    GetResult g = next(port, say);
    if (g.packet.overlapped == &recv_op)
      say.step("  the receive: \"{}\" from {}, sent to {}", std::string(buffer.data(), g.packet.bytes),
               msg.from.to_string(), msg.destination().value_or("(no PKTINFO)"));
  }
}

void pipe(evq::Narrator& say) {
  say.title("A named pipe: ConnectNamedPipe, DeviceIoControl, TransactNamedPipe");
  CompletionPort port(1);
  const std::wstring name = evq::iocp::unique_pipe_name();
  evq::UniqueHandle server = evq::iocp::create_pipe_server(name);
  port.associate(server.get(), 1);
  say.step("CreateNamedPipeW(message mode, FILE_FLAG_OVERLAPPED), key 1");
  OVERLAPPED listen_op{};
  say.step("DeviceIoControl(server, FSCTL_PIPE_LISTEN) -> {}",
           evq::iocp::to_string(evq::iocp::start_pipe_listen_ioctl(server.get(), listen_op).state));
  say.aside("this is what ConnectNamedPipe does inside: wait for a client, as an ioctl");
  evq::UniqueHandle client = evq::iocp::open_pipe_client(name);
  port.associate(client.get(), 2);
  say.step("CreateFileW(the pipe) as the client, message read mode, key 2");
  next(port, say);
  std::array<char, 64> reply{};
  OVERLAPPED transact_op{};
  const std::string request = "ping";
  say.step("TransactNamedPipe(client, \"{}\") -> {}", request,
           evq::iocp::to_string(evq::iocp::start_transact(client.get(), request, reply, transact_op).state));
  std::array<char, 64> buffer{};
  OVERLAPPED read_op{};
  say.step("ReadFile(server) -> {}",
           evq::iocp::to_string(evq::iocp::start_read_file(server.get(), buffer, 0, read_op).state));
  GetResult g = next(port, say);
  say.step("  the server read \"{}\"; WriteFile(server, \"pong\")",
           std::string(buffer.data(), g.packet.bytes));
  OVERLAPPED write_op{};
  evq::iocp::start_write_file(server.get(), std::string_view("pong"), 0, write_op);
  for (int i = 0; i < 2; ++i) {
    GetResult p = next(port, say);
    if (p.packet.overlapped == &transact_op)
      say.step("  the transaction's reply: \"{}\"", std::string(reply.data(), p.packet.bytes));
  }
}

void lock(evq::Narrator& say) {
  say.title("A byte-range lock: LockFileEx");
  const std::wstring path = evq::iocp::temp_file_path();
  struct Remove {
    const std::wstring& p;
    ~Remove() { ::DeleteFileW(p.c_str()); }
  } remove{path};
  evq::UniqueHandle first = evq::iocp::open_shared_overlapped(path);
  evq::UniqueHandle second = evq::iocp::open_shared_overlapped(path);
  CompletionPort port(1);
  port.associate(first.get(), 1);
  port.associate(second.get(), 2);
  evq::iocp::skip_completion_port_on_success(first.get());
  evq::iocp::skip_completion_port_on_success(second.get());
  say.step("two handles to one temp file, keys 1 and 2, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS on both");
  say.aside("a lock granted at once then queues no packet, on every system");
  OVERLAPPED lock1{}, lock2{};
  say.step("LockFileEx(first handle, exclusive, bytes 0-99) -> {}",
           evq::iocp::to_string(evq::iocp::start_lock_file(first.get(), 0, 100, true, lock1).state));
  say.step("LockFileEx(second handle, exclusive, bytes 50-149) -> {}",
           evq::iocp::to_string(evq::iocp::start_lock_file(second.get(), 50, 100, true, lock2).state));
  say.aside("the range is held: no thread blocks, the packet waits for the unlock");
  evq::iocp::unlock_file(first.get(), 0, 100);
  say.step("UnlockFileEx(first handle, bytes 0-99)");
  GetResult g = port.get(std::chrono::seconds(1));
  if (g.has_packet())
    say.step("  GetQueuedCompletionStatus -> key {}: the second lock is ours", g.packet.key);
  else
    say.step("  no packet within 1 s: {}", evq::wine_version()
                                               ? "Wine leaves an overlapped lock wait pending for ever"
                                               : "unexpected on Windows");
}

void directory(evq::Narrator& say) {
  say.title("A directory watch: ReadDirectoryChangesW");
  evq::iocp::TempDirectory scratch;
  CompletionPort port(1);
  evq::UniqueHandle dir = evq::iocp::open_directory(scratch.path());
  port.associate(dir.get(), 1);
  alignas(DWORD) std::array<std::byte, 4096> buffer{};
  OVERLAPPED op{};
  say.step("ReadDirectoryChangesW(a new temp directory) -> {}",
           evq::iocp::to_string(evq::iocp::start_read_directory_changes(dir.get(), buffer, op).state));
  {
    evq::UniqueHandle f(
        ::CreateFileW(scratch.file(L"note.txt").c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, 0, nullptr));
  }
  ::MoveFileW(scratch.file(L"note.txt").c_str(), scratch.file(L"renamed.txt").c_str());
  say.step("created note.txt, renamed it renamed.txt");
  std::size_t seen = 0;
  while (seen < 3) {
    GetResult g = next(port, say);
    for (const evq::iocp::DirectoryChange& c : evq::iocp::parse_changes(buffer, g.packet.bytes)) {
      say.step("  {} {}", evq::iocp::action_name(c.action), std::string(c.name.begin(), c.name.end()));
      ++seen;
    }
    if (g.packet.bytes == 0) break;
    op = {};
    evq::iocp::start_read_directory_changes(dir.get(), buffer, op);
  }
  ::CancelIoEx(dir.get(), &op);
  port.get(std::chrono::seconds(1));  // the cancelled watch's packet: the buffer is free again
  ::DeleteFileW(scratch.file(L"renamed.txt").c_str());
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("iocp_io_functions",
               "The other calls that complete through a completion port: datagrams, WSARecvMsg, named pipes, "
               "LockFileEx, ReadDirectoryChangesW.");
  cli.option("only", "one scene: datagrams, recvmsg, pipe, lock, directory (default: all)", "all");
  cli.flag("quiet", "do not narrate");
  cli.parse(argc, argv);
  return cli.run([&] {
    const std::string only = cli.get("only");
    if (only != "all" && only != "datagrams" && only != "recvmsg" && only != "pipe" && only != "lock" &&
        only != "directory")
      cli.fail("--only takes datagrams, recvmsg, pipe, lock, directory or all");
    evq::WsaSession session;
    evq::Narrator say(!cli.has("quiet"));
    if (only == "all" || only == "datagrams") datagrams(say);
    if (only == "all" || only == "recvmsg") recvmsg(say);
    if (only == "all" || only == "pipe") pipe(say);
    if (only == "all" || only == "lock") lock(say);
    if (only == "all" || only == "directory") directory(say);
    return 0;
  });
}
