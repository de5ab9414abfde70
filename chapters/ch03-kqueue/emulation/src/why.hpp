// The emulation's "why": a sentence for the last refusal on this thread (kqueue_emulation_why()).
// errno says EINVAL; the sentence says which filter, flag or value was refused and why.
#pragma once

#include <string>

namespace evq::kq_emulation {

void set_why(std::string text);
void clear_why();

}  // namespace evq::kq_emulation
