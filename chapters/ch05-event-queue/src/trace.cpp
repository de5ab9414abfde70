#include "evq/port/trace.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <system_error>

namespace evq::port {

std::string to_string(Trace::Kind kind) {
  switch (kind) {
    case Trace::Kind::get_called:
      return "get_called";
    case Trace::Kind::parked:
      return "parked";
    case Trace::Kind::woken:
      return "woken";
    case Trace::Kind::got:
      return "got";
    case Trace::Kind::timed_out:
      return "timed_out";
    case Trace::Kind::closed:
      return "closed";
    case Trace::Kind::posted:
      return "posted";
    case Trace::Kind::scope_enter:
      return "scope_enter";
    case Trace::Kind::scope_exit:
      return "scope_exit";
    case Trace::Kind::counters:
      return "counters";
  }
  return "?";
}

Trace::Trace() : start_(std::chrono::steady_clock::now()) {}

int Trace::thread_id_locked() {
  auto [it, added] = ids_.try_emplace(std::this_thread::get_id(), static_cast<int>(ids_.size()) + 1);
  return it->second;
}

int Trace::thread_id() {
  std::lock_guard lock(mutex_);
  return thread_id_locked();
}

void Trace::record(Kind kind, std::uint64_t key) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  Event e;
  e.ts_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count();
  e.thread = thread_id_locked();
  e.kind = kind;
  e.key = key;
  events_.push_back(e);
}

void Trace::record_counters(unsigned running, std::size_t waiting, std::size_t queued) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  Event e;
  e.ts_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count();
  e.thread = thread_id_locked();
  e.kind = Kind::counters;
  e.running = running;
  e.waiting = waiting;
  e.queued = queued;
  events_.push_back(e);
}

void Trace::name_thread(std::string name) {
  std::lock_guard lock(mutex_);
  names_[thread_id_locked()] = std::move(name);
}

std::vector<Trace::Event> Trace::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<std::pair<int, std::uint64_t>> Trace::of_kind(Kind kind) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<int, std::uint64_t>> out;
  for (const Event& e : events_)
    if (e.kind == kind) out.emplace_back(e.thread, e.key);
  return out;
}

namespace {

std::string json_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;  // names never need control characters
    out += ch;
  }
  return out;
}

}  // namespace

// [snippet chrome-json]
// Chrome's trace event format: "B"/"E" open and close a bar on a thread's row, "i" is an instant,
// "C" a counter track, "M" names a thread. ts is in microseconds.
std::string Trace::chrome_json() const {
  std::lock_guard lock(mutex_);
  std::string out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto emit = [&](const std::string& event) {
    if (!first) out += ",\n";
    first = false;
    out += event;
  };
  std::map<int, bool> running_bar;  // does this thread have an open "key N" bar?
  for (const Event& e : events_) {
    double ts = static_cast<double>(e.ts_ns) / 1000.0;
    auto bar = [&](char ph, const std::string& name) {
      emit(fmt::format(R"({{"name":"{}","cat":"port","ph":"{}","ts":{:.3f},"pid":1,"tid":{}}})", name, ph, ts,
                       e.thread));
    };
    auto instant = [&](const std::string& name) {
      emit(fmt::format(R"({{"name":"{}","cat":"port","ph":"i","s":"t","ts":{:.3f},"pid":1,"tid":{}}})", name,
                       ts, e.thread));
    };
    switch (e.kind) {
      case Kind::get_called:
        if (running_bar[e.thread]) bar('E', "");
        running_bar[e.thread] = false;
        break;
      case Kind::parked:
        bar('B', "waiting");
        break;
      case Kind::woken:
        bar('E', "");
        break;
      case Kind::got:
        bar('B', fmt::format("key {}", e.key));
        running_bar[e.thread] = true;
        break;
      case Kind::timed_out:
        instant("timeout");
        break;
      case Kind::closed:
        instant("closed");
        break;
      case Kind::posted:
        instant(fmt::format("post key {}", e.key));
        break;
      case Kind::scope_enter:
        bar('B', "blocking scope");
        break;
      case Kind::scope_exit:
        bar('E', "");
        break;
      case Kind::counters:
        emit(fmt::format(
            R"({{"name":"port","ph":"C","ts":{:.3f},"pid":1,"args":{{"running":{},"waiting":{},"queued":{}}}}})",
            ts, e.running, e.waiting, e.queued));
        break;
    }
  }
  for (const auto& [thread, name] : names_)
    emit(fmt::format(R"({{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":"{}"}}}})", thread,
                     json_escape(name)));
  out += "\n]}\n";
  return out;
}
// [/snippet chrome-json]

std::string Trace::ascii_timeline(int columns) const {
  std::lock_guard lock(mutex_);
  if (events_.empty() || columns < 1) return "";
  const std::int64_t start = events_.front().ts_ns;
  const std::int64_t span = std::max<std::int64_t>(1, events_.back().ts_ns - start + 1);
  auto column = [&](std::int64_t ts) { return static_cast<int>((ts - start) * columns / span); };
  std::map<int, std::string> rows;            // thread -> its row
  std::map<int, std::pair<char, int>> state;  // thread -> (what it does, since which column)
  std::string running_row(static_cast<std::size_t>(columns), ' ');
  auto paint = [&](int thread, int until) {
    auto& [what, from] = state.try_emplace(thread, ' ', 0).first->second;
    std::string& row =
        rows.try_emplace(thread, std::string(static_cast<std::size_t>(columns), ' ')).first->second;
    for (int c = from; c <= until && c < columns; ++c)
      if (what != ' ' && (row[static_cast<std::size_t>(c)] == ' ' || what != '.'))
        row[static_cast<std::size_t>(c)] = what;
    from = until;
  };
  for (const Event& e : events_) {
    int c = column(e.ts_ns);
    char next = 0;
    switch (e.kind) {
      case Kind::get_called:
        next = ' ';
        break;
      case Kind::parked:
        next = '.';
        break;
      case Kind::got:
        next = '#';
        break;
      case Kind::scope_enter:
        next = 'b';
        break;
      case Kind::scope_exit:
        next = '#';
        break;
      case Kind::timed_out:
      case Kind::closed:
        next = ' ';
        break;
      case Kind::counters: {
        char digit = e.running > 9 ? '+' : static_cast<char>('0' + e.running);
        char& cell = running_row[static_cast<std::size_t>(c)];
        if (cell == ' ' || digit > cell) cell = digit;
        continue;
      }
      default:
        continue;
    }
    if (e.kind != Kind::posted) {
      paint(e.thread, c);
      state[e.thread] = {next, c};
    }
  }
  for (auto& [thread, st] : state) paint(thread, columns - 1);
  // Carry the running count across slices where it did not change.
  char last = '0';
  for (char& cell : running_row) {
    if (cell == ' ')
      cell = last;
    else
      last = cell;
  }
  std::vector<std::pair<std::string, std::string>> labelled;  // (label, row), shown by label
  for (const auto& [thread, row] : rows) {
    auto name = names_.find(thread);
    labelled.emplace_back(name != names_.end() ? name->second : fmt::format("thread {}", thread), row);
  }
  std::sort(labelled.begin(), labelled.end());
  std::string out;
  for (const auto& [label, row] : labelled) out += fmt::format("{:>10} |{}|\n", label.substr(0, 10), row);
  out += fmt::format("{:>10} |{}|\n", "running", running_row);
  return out;
}

void Trace::write_chrome_json(const std::string& path) const {
  std::string text = chrome_json();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) throw std::system_error(errno, std::generic_category(), "fopen(" + path + ")");
  if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size())
    throw std::system_error(errno, std::generic_category(), "fwrite(" + path + ")");
}

}  // namespace evq::port
