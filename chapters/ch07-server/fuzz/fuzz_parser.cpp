// libFuzzer target for the request parser: tools/lab fuzz [SECONDS] builds it with clang
// (-fsanitize=fuzzer,address,undefined) and runs it on the corpus in fuzz/corpus/ (CI: 30 s).
//
// Beyond "no crash, no sanitizer report", it checks one property on every input: feeding the
// bytes in one piece, or cut at a point the input chooses, gives the same requests and the same
// error. A parser that depends on where the reads happened to split a stream is wrong.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "evq/http/parser.hpp"

namespace {

struct Outcome {
  std::vector<std::string> requests;  // method, target, body, keep-alive of each, flattened
  int error = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome run(std::string_view data, std::size_t cut) {
  evq::http::RequestParser parser(evq::http::RequestParser::Limits{512, 2048});
  Outcome out;
  auto drain = [&] {
    evq::http::Request r;
    evq::http::RequestParser::Result res;
    while ((res = parser.next(r)) == evq::http::RequestParser::Result::request)
      out.requests.push_back(r.method + ' ' + r.target + ' ' + r.body + (r.keep_alive ? " ka" : " close"));
    if (res == evq::http::RequestParser::Result::error) out.error = parser.error().status;
  };
  parser.feed(data.substr(0, cut));
  drain();
  if (!out.error) {
    parser.feed(data.substr(cut));
    drain();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  // The first two bytes choose where the stream is split; the rest is the stream.
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  const std::size_t cut = data.empty() ? 0 : (std::size_t{bytes[0]} << 8 | bytes[1]) % (data.size() + 1);
  const Outcome whole = run(data, data.size());
  const Outcome split = run(data, cut);
  // An error found in the first piece stops the split run early; otherwise both must agree.
  if (!(whole == split) && !(split.error && whole.error)) __builtin_trap();
  return 0;
}
