#pragma once
// The sans-I/O interface every protocol role implements. A role never reads a
// clock, touches a socket or a global RNG: time, randomness and storage come in
// through `context`, and what it wants done goes out through `effects`, which the
// actor applies through the runtime seam (actors/runtime/runtime.hpp).
#include "protocols/common/command.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/common/store.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab {

/// Everything a role may read about the world while handling one input.
struct context {
  time_us now = 0;
  peer_id self = 0;
  rng& random;              // the node's own seeded generator
  kv_store& store;          // rows that survive a crash of the node
  content_store& content;   // file bytes (synthetic in the simulator, disk in live mode)
  std::string_view address; // how others reach this node ("host:port" live, empty in the simulator)
};

/// A structured event for traces, checkers and command replies. Fields are
/// kept as strings and numbers so that every consumer can print them.
struct event {
  std::string kind;             // e.g. "download_done"
  std::uint64_t command_id = 0; // non-zero if this answers a command
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::pair<std::string, double>> values;
  /// A list answer's rows (e.g. a table listed through a node's API), typed
  /// by `rows_schema`; empty for other events.
  const table_schema* rows_schema = nullptr;
  std::vector<row> rows{}; // {}: events built from {kind, id, fields, values} stay warning-free

  const std::string* field(std::string_view k) const {
    for (auto& [key, v] : fields)
      if (key == k)
        return &v;
    return nullptr;
  }
  double value(std::string_view k, double fallback = 0) const {
    for (auto& [key, v] : values)
      if (key == k)
        return v;
    return fallback;
  }
};

/// What a role wants done. The actor owns one buffer and reuses it.
class effects {
public:
  struct frame_out {
    peer_id to;
    bytes data;
  };
  struct timer_req {
    time_us delay;
    std::uint64_t token;
  };
  struct local_command {
    port_t to;
    command cmd;
  };
  struct metric_sample {
    const char* name; // static string; aggregated by name
    double value;
    bool is_counter;
  };

  void send(peer_id to, bytes frame) { frames.push_back({to, std::move(frame)}); }
  void after(time_us delay, std::uint64_t token) { timers.push_back({delay, token}); }
  void count(const char* name, double delta = 1) { metrics.push_back({name, delta, true}); }
  void observe(const char* name, double value) { metrics.push_back({name, value, false}); }
  void emit(event e) { events.push_back(std::move(e)); }
  /// The one failure reply to a command: event "command_failed" with fields
  /// verb and reason and value code.
  void fail(std::uint64_t command_id, std::string_view verb, fail_code code, std::string reason) {
    emit(event{"command_failed",
               command_id,
               {{"verb", std::string(verb.substr(0, 80))}, {"reason", std::move(reason)}},
               {{"code", static_cast<double>(code)}}});
  }
  void fail(const command& c, fail_code code, std::string reason) {
    fail(c.id, c.verb(), code, std::move(reason));
  }
  void fail(const command& c, command_error e) { fail(c, e.code, std::move(e.reason)); }
  /// Sends a command to the role on `to` of this node; its replies come back
  /// through role::reply. Ids come from local_command_id(own port, seq).
  void ask(port_t to, command c) { asks.push_back({to, std::move(c)}); }
  /// Tells the transport how to reach a peer (live: "host:port"); for roles
  /// that discover peers (DHT contacts). The simulator ignores it.
  void learn_address(peer_id p, std::string addr) { addresses.push_back({p, std::move(addr)}); }

  bool empty() const {
    return frames.empty() && timers.empty() && metrics.empty() && events.empty() &&
           addresses.empty() && asks.empty();
  }
  void clear() {
    frames.clear();
    timers.clear();
    metrics.clear();
    events.clear();
    addresses.clear();
    asks.clear();
  }

  std::vector<frame_out> frames;
  std::vector<timer_req> timers;
  std::vector<metric_sample> metrics;
  std::vector<event> events;
  std::vector<std::pair<peer_id, std::string>> addresses;
  std::vector<local_command> asks;
};

/// One role of a node. The first byte of every frame names the port, and the
/// runtime hands a frame to the role registered for that port.
class role {
public:
  virtual ~role() = default;
  virtual port_t port() const = 0;
  virtual const char* name() const = 0;
  /// The node came up (first start or restart after a crash or leave).
  virtual void start(context&, effects&) {}
  /// A frame arrived. It may be truncated, corrupted, duplicated or hostile.
  virtual void frame(context&, peer_id from, byte_view data, effects&) = 0;
  /// A timer set with effects::after fired. Timers cannot be cancelled:
  /// roles ignore tokens they no longer care about.
  virtual void timer(context&, std::uint64_t, effects&) {}
  /// A local command; reply with events carrying its id (fx.fail on error).
  virtual void command(context&, const peerlab::command& c, effects& fx) {
    fx.fail(c, fail_code::unavailable, std::string(name()) + " takes no commands");
  }
  /// Turns a command's text form (scenario files, node configs, the CLI) into
  /// this role's typed command; nullopt with `err` set if it is not one.
  virtual std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                        const std::vector<std::string>& args,
                                                        command_error& err) const {
    (void)id;
    (void)args;
    err = {fail_code::bad_request, std::string(name()) + " takes no commands (got \"" +
                                     std::string(verb.substr(0, 40)) + "\")"};
    return std::nullopt;
  }
  /// The transport met `peer` at `address` (live: its hello was verified).
  /// The simulator names peers by id and does not call it.
  virtual void peer_up(context&, peer_id /*peer*/, std::string_view /*address*/, effects&) {}
  /// An event another role of this node emitted in answer to a command this
  /// role sent it with effects::ask (`from` is that role's port).
  virtual void reply(context&, port_t /*from*/, const event&, effects&) {}
  /// Graceful leave: the role may send goodbyes before the node goes away.
  virtual void stop(context&, effects&) {}
  /// The tables this role keeps rows in. A live node creates (and migrates)
  /// them when the node starts, so they exist before the first row.
  virtual std::vector<const table_schema*> tables() const { return {}; }
  /// Name of a message type for traces: frame byte 1, by convention.
  virtual const char* message_name(std::uint8_t) const { return "?"; }
};

/// A command in its text form (scenario files, node configs, the CLI, tests);
/// the receiving role parses it on arrival (deliver_command).
inline command text_command_of(std::uint64_t id, std::string verb, std::vector<std::string> args) {
  return command(id, text_commands{text_command{std::move(verb), std::move(args)}});
}

/// Hands a command to a role as every runtime does: a text form is parsed by
/// the role first, and one it cannot parse is answered with command_failed.
inline void deliver_command(role& r, context& ctx, const command& c, effects& fx) {
  if (auto* t = c.as<text_commands>()) {
    const auto& tc = std::get<text_command>(*t);
    command_error err;
    auto parsed = r.parse_command(c.id, tc.verb, tc.args, err);
    if (!parsed)
      return fx.fail(c.id, tc.verb, err.code, std::move(err.reason));
    return r.command(ctx, *parsed, fx);
  }
  r.command(ctx, c, fx);
}

} // namespace peerlab
