#include "evq/common/cli.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace evq {

Cli::Cli(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

Cli& Cli::option(std::string name, std::string help, std::string default_value) {
  entries_.push_back({std::move(name), std::move(help), std::move(default_value), false, false});
  return *this;
}

Cli& Cli::flag(std::string name, std::string help) {
  entries_.push_back({std::move(name), std::move(help), "", true, false});
  return *this;
}

Cli& Cli::epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

std::string Cli::usage() const {
  std::string text = fmt::format("usage: {} [options]\n\n{}\n\noptions:\n", program_, summary_);
  for (const Entry& e : entries_) {
    std::string left = e.is_flag ? "--" + e.name : fmt::format("--{} <value>", e.name);
    std::string right = e.is_flag ? e.help : fmt::format("{} (default: {})", e.help, e.value);
    text += fmt::format("  {:<24} {}\n", left, right);
  }
  text += fmt::format("  {:<24} {}\n", "--help", "show this help and exit");
  if (!epilog_.empty()) text += "\n" + epilog_ + "\n";
  return text;
}

void Cli::report(std::string_view message) const {
  fmt::print(stderr, "{}: {}\n", program_, message);
}

void Cli::fail(std::string_view message) const {
  fmt::print(stderr, "{}: {}\n(run '{} --help' for the options)\n", program_, message, program_);
  std::exit(2);
}

Cli::Entry* Cli::lookup(std::string_view name) {
  for (Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const Cli::Entry& Cli::find(std::string_view name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return e;
  // A programming error in the demo itself, not a user mistake.
  throw std::logic_error(fmt::format("Cli: no option named '{}'", name));
}

void Cli::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", usage());
      std::exit(0);
    }
    if (arg.substr(0, 2) != "--") fail(fmt::format("unexpected argument '{}'", arg));
    arg.remove_prefix(2);
    std::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    Entry* e = lookup(arg);
    if (!e) fail(fmt::format("unknown option '--{}'", arg));
    if (e->is_flag) {
      if (has_value) fail(fmt::format("option '--{}' takes no value", arg));
    } else if (!has_value) {
      if (i + 1 >= argc) fail(fmt::format("option '--{}' needs a value", arg));
      value = argv[++i];
    }
    e->value = std::string(value);
    e->set = true;
  }
}

const std::string& Cli::get(std::string_view name) const {
  return find(name).value;
}

long long Cli::get_int(std::string_view name, long long min, long long max) const {
  const std::string& text = find(name).value;
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    fail(fmt::format("option '--{}' wants a whole number, not '{}'", name, text));
  if (value < min || value > max)
    fail(fmt::format("option '--{}' must be between {} and {}, not {}", name, min, max, value));
  return value;
}

bool Cli::has(std::string_view flag) const {
  return find(flag).set;
}

}  // namespace evq
