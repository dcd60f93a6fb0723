#pragma once
// Local commands (from a workload, a node config, an HTTP API, the CLI or
// another role of the same node) and their one error shape.
//
// Each protocol declares its commands as plain structs gathered in one
// std::variant (e.g. `kad::command`); a `peerlab::command` carries one such
// variant behind a type-erased pointer, so the runtime seam, the simulator's
// queue and the CAF shell move commands without knowing any protocol. A role
// asks `cmd.as<kad::command>()` and visits the alternative it got. Every
// alternative has `static constexpr std::string_view verb` and a
// `describe(std::string&)` member that appends its arguments as canonical
// text (traces and the fingerprint).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace peerlab {

/// Why a command failed; the numbers follow HTTP so an API can answer with
/// them unchanged.
enum class fail_code : std::uint16_t {
  bad_request = 400,  // arguments that cannot be right
  not_found = 404,    // the thing named does not exist here
  conflict = 409,     // valid, but not in the current state
  too_large = 413,    // more bytes than a bound allows
  internal = 500,     // the node could not do it (I/O, storage)
  unavailable = 503,  // a bound was reached or a needed role is missing
  timeout = 504,      // a peer or another role did not answer in time
  storage_full = 507, // a table of this node is at its bound
};

constexpr const char* error_code_name(fail_code c) {
  switch (c) {
  case fail_code::bad_request:
    return "bad_request";
  case fail_code::not_found:
    return "not_found";
  case fail_code::conflict:
    return "conflict";
  case fail_code::internal:
    return "internal";
  case fail_code::unavailable:
    return "unavailable";
  case fail_code::timeout:
    return "timeout";
  case fail_code::too_large:
    return "too_large";
  case fail_code::storage_full:
    return "storage_full";
  }
  return "?";
}

/// The one failure reply of every command: event kind "command_failed" with
/// fields verb and reason and value code (role.hpp, effects::fail).
struct command_error {
  fail_code code = fail_code::bad_request;
  std::string reason;
};

namespace detail {
struct command_body {
  virtual ~command_body() = default;
  virtual std::string_view verb() const = 0;
  virtual void describe(std::string& out) const = 0;
};

template <class Variant>
struct variant_body final : command_body {
  explicit variant_body(Variant v) : value(std::move(v)) {}
  std::string_view verb() const override {
    return std::visit([](const auto& c) -> std::string_view { return c.verb; }, value);
  }
  void describe(std::string& out) const override {
    std::visit([&](const auto& c) { c.describe(out); }, value);
  }
  Variant value;
};

template <class T>
struct is_variant : std::false_type {};
template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};
} // namespace detail

/// A command as it travels: an id that replies carry, and a protocol's typed
/// body. Copies share the (immutable) body.
class command {
public:
  std::uint64_t id = 0;

  command() = default;
  template <class Variant>
  requires detail::is_variant<Variant>::value command(std::uint64_t command_id, Variant body)
      : id(command_id), body_(std::make_shared<detail::variant_body<Variant>>(std::move(body))) {}

  /// The body as protocol `Variant`'s commands, or nullptr if it is another
  /// protocol's (or empty).
  template <class Variant>
  const Variant* as() const {
    auto* b = dynamic_cast<const detail::variant_body<Variant>*>(body_.get());
    return b ? &b->value : nullptr;
  }

  std::string_view verb() const { return body_ ? body_->verb() : std::string_view{}; }
  /// "verb arg arg...": canonical text for traces and the fingerprint.
  std::string describe() const {
    std::string out(verb());
    if (body_)
      body_->describe(out);
    return out;
  }
  bool empty() const { return !body_; }

private:
  std::shared_ptr<const detail::command_body> body_;
};

/// What a protocol's text parser (`<x>::parse_command(verb, args, err)`) gave,
/// as a command carrying `id`; nothing when it refused (it has set `err`).
/// Every role's `role::parse_command` override is this one call.
template <class Variant>
std::optional<command> typed_command_of(std::uint64_t id, std::optional<Variant> parsed) {
  if (!parsed)
    return std::nullopt;
  return command(id, std::move(*parsed));
}

/// The text form of a command, for the few roles of a live node's local API
/// whose arguments are file paths and table names rather than protocol values.
struct text_command {
  std::string verb;
  std::vector<std::string> args;
  void describe(std::string& out) const {
    for (auto& a : args) {
      out += ' ';
      out += a;
    }
  }
};
using text_commands = std::variant<text_command>;

/// Appends " value" to a description (helpers for describe()).
inline void describe_arg(std::string& out, std::string_view v) {
  out += ' ';
  out += v;
}
inline void describe_arg(std::string& out, std::uint64_t v) {
  describe_arg(out, std::to_string(v));
}

// Commands issued by a role to another role of the same node carry the
// issuing role's port in the top byte of their id, so the runtime routes the
// replies back to it without remembering anything. Ids from outside the node
// (workloads, configs, APIs) stay below 2^56.
constexpr std::uint64_t local_id_bits = 56;
constexpr std::uint64_t external_id_max = (std::uint64_t{1} << local_id_bits) - 1;
constexpr std::uint64_t local_command_id(std::uint8_t issuer_port, std::uint64_t seq) {
  return (std::uint64_t{issuer_port} << local_id_bits) | (seq & external_id_max);
}
constexpr std::uint8_t issuer_port(std::uint64_t command_id) {
  return static_cast<std::uint8_t>(command_id >> local_id_bits);
}

} // namespace peerlab
