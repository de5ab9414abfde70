// Readable names for kqueue's numbers, for narration and for test failure messages:
//   describe(ev) -> "{ident 7, EVFILT_READ, EV_ADD|EV_CLEAR|EV_EOF, fflags 0, data 12}"
#pragma once

#include <sys/types.h>
#include <sys/event.h>

#include <string>

namespace evq::kq {

std::string filter_name(short filter);
std::string flags_name(unsigned short flags);
std::string describe(const struct kevent& ev);

}  // namespace evq::kq
