// How a call that starts an overlapped operation said it went, as a Started (overlapped_io.hpp):
// the two return conventions of the Win32 calls, shared by every file of this chapter that starts
// one (internal).
#pragma once

#include "evq/iocp/overlapped_io.hpp"

namespace evq::iocp::detail {

// [snippet started-from-wsa]
// The WinSock convention: 0 = done now, SOCKET_ERROR + WSA_IO_PENDING = started, anything else = failed.
inline Started from_wsa(int rc, DWORD bytes) {
  if (rc == 0) return {Started::completed_now, bytes, {}};
  int err = ::WSAGetLastError();
  if (err == WSA_IO_PENDING) return {Started::pending, 0, {}};
  return {Started::failed, 0, win32_code(static_cast<DWORD>(err))};
}
// [/snippet started-from-wsa]

// The same for the BOOL-returning calls (AcceptEx, ConnectEx, ReadFile, WriteFile, LockFileEx,
// ConnectNamedPipe, TransactNamedPipe, ReadDirectoryChangesW, DeviceIoControl).
inline Started from_bool(BOOL ok, DWORD bytes, DWORD err) {
  if (ok) return {Started::completed_now, bytes, {}};
  if (err == ERROR_IO_PENDING) return {Started::pending, 0, {}};
  return {Started::failed, 0, win32_code(err)};
}

}  // namespace evq::iocp::detail
