// evq/common/win32.hpp: errors that name the call, RAII owners, loopback helpers, Wine detection.
#include <doctest/doctest.h>

#include <string>

#include "evq/common/win32.hpp"
#include "host.hpp"

TEST_CASE("a Win32 error names the call and carries Windows' own text") {
  try {
    evq::throw_win32("GetQueuedCompletionStatus", WAIT_TIMEOUT);
    FAIL("throw_win32 returned");
  } catch (const std::system_error& e) {
    std::string what = e.what();
    INFO("what(): ", what);
    CHECK(what.find("GetQueuedCompletionStatus") != std::string::npos);
    CHECK(what.find("[error 258 WAIT_TIMEOUT]") != std::string::npos);
    CHECK(e.code() == evq::win32_code(WAIT_TIMEOUT));
    CHECK(e.code().category().name() == std::string("win32"));
  }
}

TEST_CASE("a failing WinSock call becomes a system_error with its WSA code") {
  evq::WsaSession session;
  SOCKET bogus = INVALID_SOCKET;
  CHECK(::closesocket(bogus) == SOCKET_ERROR);
  try {
    evq::throw_wsa_error("closesocket(INVALID_SOCKET)");
    FAIL("throw_wsa_error returned");
  } catch (const std::system_error& e) {
    MESSAGE("closesocket(INVALID_SOCKET): ", std::string(e.what()));
    CHECK(e.code() == evq::win32_code(WSAENOTSOCK));
  }
}

TEST_CASE("UniqueHandle treats INVALID_HANDLE_VALUE as empty and closes once on move") {
  evq::UniqueHandle none(INVALID_HANDLE_VALUE);
  CHECK_FALSE(none);
  evq::UniqueHandle event(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
  REQUIRE(event);
  HANDLE raw = event.get();
  evq::UniqueHandle moved = std::move(event);
  CHECK_FALSE(event);
  CHECK(moved.get() == raw);
  moved.reset();
  // The handle is gone: using it now fails with ERROR_INVALID_HANDLE.
  CHECK_FALSE(::SetEvent(raw));
  CHECK(::GetLastError() == ERROR_INVALID_HANDLE);
}

TEST_CASE("socket_pair connects two loopback sockets that carry bytes both ways") {
  evq::WsaSession session;
  evq::SocketPair pair = evq::socket_pair();
  evq::set_receive_timeout(pair.server.get(), 10'000);
  evq::set_receive_timeout(pair.client.get(), 10'000);
  evq::send_all(pair.client.get(), "ping");
  CHECK(evq::recv_exact(pair.server.get(), 4) == "ping");
  evq::send_all(pair.server.get(), "pong");
  CHECK(evq::recv_exact(pair.client.get(), 4) == "pong");
  evq::shutdown_send(pair.client.get());
  CHECK(evq::recv_exact(pair.server.get(), 1).empty());  // end of stream after the half-close
}

TEST_CASE("connecting to a closed loopback port is refused with a clear error") {
  evq::WsaSession session;
  std::uint16_t port;
  {
    evq::UniqueSocket listener = evq::listen_loopback_socket();
    port = evq::socket_port(listener.get());
  }
  CHECK_THROWS_AS(evq::connect_loopback_socket(port), std::system_error);
}

TEST_CASE("wine_version tells Wine apart from Windows") {
  auto wine = evq::wine_version();
  MESSAGE("host: ", evq::iocp::test::host_name());
  if (wine) CHECK_FALSE(wine->empty());
  // On either host the answer must agree with ntdll's export table.
  HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  REQUIRE(ntdll != nullptr);
  bool exported = ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
  CHECK(exported == wine.has_value());
}
