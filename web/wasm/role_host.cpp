// One peerlab::role in WebAssembly, driven from JavaScript (web/host.js)
// through plain extern "C" functions (docs/wasm.md). The host is the role's
// runtime: it owns the node's rows (memory_store), file bytes (memory_content)
// and seeded generator, and hands the role's effects back in one buffer after
// every call. Time and seeds come from JS: nothing here reads a clock.
#include "web/wasm/role_host.hpp"
#include "web/wasm/effects_buffer.hpp"
#include "web/wasm/modules.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/json_depth.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/memory_content.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/common/sha224.hpp"
#include "protocols/common/sha256.hpp"

#include <nlohmann/json.hpp>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define HOST_API EMSCRIPTEN_KEEPALIVE // exported to JS, kept by the linker
#else
#define HOST_API
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

using namespace peerlab;
using nlohmann::json;

namespace {

struct hosted {
  std::shared_ptr<role> r;
  memory_store store;
  memory_content content;
  rng random;
  peer_id self = 0;
  time_us last_now = 0;
  std::uint64_t next_command = 1;
  std::string failed; // what the role threw; the host refuses further calls
  effects fx;
  wasm::effects_options options;
};

std::unique_ptr<hosted> g_host;
std::vector<std::uint8_t> g_out;     // the last call's result (effects_buffer.hpp)
std::vector<std::uint8_t> g_in;      // where JS writes a call's input bytes
std::array<std::uint8_t, 32> g_hash; // the last host_sha224 / host_sha256 digest

constexpr int json_depth_max = 64;
constexpr int max_ask_rounds = 64; // asks answered within one call

std::uint64_t join(std::uint32_t lo, std::uint32_t hi) { return std::uint64_t{hi} << 32 | lo; }

int fail(std::string_view why) {
  wasm::encode_error(why, g_out);
  return 1;
}

/// A role hosted alone answers every command it asks of another role with
/// command_failed (503), as a node without that role does.
void answer_asks(hosted& h, context& ctx) {
  for (int round = 0; round < max_ask_rounds && !h.fx.asks.empty(); ++round) {
    auto asks = std::move(h.fx.asks);
    h.fx.asks.clear();
    for (auto& a : asks) {
      effects no;
      no.fail(a.cmd, fail_code::unavailable,
              "this node hosts only the " + std::string(h.r->name()) + " role, none on port " +
                std::to_string(a.to));
      h.r->reply(ctx, a.to, no.events.front(), h.fx);
    }
  }
  h.fx.asks.clear();
}

/// Runs one input of the role at `now_us` and encodes its effects.
template <class F>
int run(double now_us, std::uint64_t command_id, F&& input) {
  if (!g_host)
    return fail("no role: call host_create first (or it failed)");
  auto& h = *g_host;
  if (!h.failed.empty())
    return fail("the role threw earlier (" + h.failed + "); create the host again");
  if (!std::isfinite(now_us) || now_us < 0 || now_us > 9007199254740992.0)
    return fail("now_us must be a whole number of microseconds in [0, 2^53]");
  auto now = static_cast<time_us>(now_us);
  if (now < h.last_now)
    return fail("time went backwards: " + std::to_string(now) + " us after " +
                std::to_string(h.last_now) + " us");
  h.last_now = now;
  h.fx.clear();
  try {
    context ctx{now, h.self, h.random, h.store, h.content, {}};
    input(*h.r, ctx, h.fx);
    answer_asks(h, ctx);
  } catch (const std::exception& e) {
    h.failed = e.what();
    h.fx.clear();
    return fail(std::string(h.r->name()) + " threw: " + e.what());
  }
  wasm::encode_effects(h.fx, command_id, h.options, g_out);
  return 0;
}

std::string_view text_at(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

const role_entry* find_entry(const std::string& name, std::string& known) {
  for (auto* m : wasm::hosted_modules())
    for (auto& e : m->roles) {
      if (e.name == name)
        return &e;
      known += (known.empty() ? "" : ", ") + e.name;
    }
  return nullptr;
}

} // namespace

role* wasm::hosted_role() { return g_host && g_host->failed.empty() ? g_host->r.get() : nullptr; }

int wasm::run_typed_command(double now_us, const std::function<command(std::uint64_t)>& make) {
  if (!g_host)
    return fail("no role: call host_create first (or it failed)");
  auto id = g_host->next_command++;
  auto cmd = make(id);
  return run(now_us, id, [&](role& r, context& c, effects& fx) { deliver_command(r, c, cmd, fx); });
}

int wasm::set_result(std::string_view json_text) {
  wasm::encode_result(json_text, g_out);
  return 0;
}

int wasm::set_error(std::string_view why) { return fail(why); }

extern "C" {

/// A buffer of at least `n` bytes for the next call's input; valid until the
/// next host_buffer call.
HOST_API std::uint8_t* host_buffer(std::size_t n) {
  if (g_in.size() < n)
    g_in.resize(n);
  return g_in.data();
}

/// The result of the last call (effects_buffer.hpp).
HOST_API const std::uint8_t* host_out_ptr() { return g_out.data(); }
HOST_API std::size_t host_out_len() { return g_out.size(); }

/// Builds the role from `{"role": name, ...parameters}` (or a bare name as a
/// JSON string) through its module's factory; "adversary" picks one of the
/// role's misbehaviours. Replaces any role hosted before.
HOST_API int host_create(const std::uint8_t* json_text, std::size_t len, std::uint32_t seed_lo,
                         std::uint32_t seed_hi, std::uint32_t self_lo, std::uint32_t self_hi) {
  g_host.reset();
  auto text = text_at(json_text, len);
  try {
    if (json_depth(text, json_depth_max) > json_depth_max)
      return fail("role JSON nests deeper than " + std::to_string(json_depth_max) + " levels");
    json spec = json::parse(text);
    if (spec.is_string())
      spec = json{{"role", spec}};
    if (!spec.is_object() || !spec.contains("role") || !spec["role"].is_string())
      return fail(R"(role JSON must be {"role": "<name>", ...parameters} or "<name>")");
    std::string adversary;
    if (auto it = spec.find("adversary"); it != spec.end()) {
      if (!it->is_string())
        return fail("\"adversary\" must be a string");
      adversary = it->get<std::string>();
      spec.erase(it);
    }
    std::string name = spec["role"].get<std::string>(), known;
    auto* entry = find_entry(name, known);
    if (!entry)
      return fail("no role \"" + name.substr(0, 80) + "\" in this build (it hosts: " + known + ")");
    if (!adversary.empty() && std::find(entry->adversaries.begin(), entry->adversaries.end(),
                                        adversary) == entry->adversaries.end())
      return fail("role " + name + " has no adversary \"" + adversary.substr(0, 80) + "\"");
    auto h = std::make_unique<hosted>();
    h->r = entry->make(spec, "role", adversary);
    if (!h->r)
      return fail("role " + name + " could not be built");
    for (auto* t : h->r->tables())
      h->store.declare(*t);
    h->random.reseed(join(seed_lo, seed_hi));
    h->self = join(self_lo, self_hi);
    // The result says what was built (no events: nothing ran yet).
    wasm::encode_result(json{{"role", h->r->name()}, {"port", h->r->port()}}.dump(), g_out);
    g_host = std::move(h);
    return 0;
  } catch (const json::parse_error& e) {
    return fail("role JSON: " + json_error_text(e.what()));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

/// Includes metrics (counters and observations) in the effects when on != 0.
HOST_API void host_set_metrics(int on) {
  if (g_host)
    g_host->options.metrics = on != 0;
}

HOST_API int host_start(double now_us) {
  return run(now_us, 0, [](role& r, context& c, effects& fx) { r.start(c, fx); });
}

HOST_API int host_stop(double now_us) {
  return run(now_us, 0, [](role& r, context& c, effects& fx) { r.stop(c, fx); });
}

HOST_API int host_frame(double now_us, std::uint32_t from_lo, std::uint32_t from_hi,
                        const std::uint8_t* data, std::size_t len) {
  if (len > limits::frame_bytes_max)
    return fail("frame of " + std::to_string(len) + " bytes: more than the limit of " +
                std::to_string(limits::frame_bytes_max));
  return run(now_us, 0, [&](role& r, context& c, effects& fx) {
    r.frame(c, join(from_lo, from_hi), byte_view{data, len}, fx);
  });
}

HOST_API int host_timer(double now_us, std::uint32_t token_lo, std::uint32_t token_hi) {
  return run(now_us, 0,
             [&](role& r, context& c, effects& fx) { r.timer(c, join(token_lo, token_hi), fx); });
}

HOST_API int host_peer_up(double now_us, std::uint32_t peer_lo, std::uint32_t peer_hi,
                          const std::uint8_t* address, std::size_t len) {
  return run(now_us, 0, [&](role& r, context& c, effects& fx) {
    r.peer_up(c, join(peer_lo, peer_hi), text_at(address, len), fx);
  });
}

/// A text command: `verb` and a JSON array of string (or number) arguments,
/// parsed by the role (role::parse_command) like every runtime does. The
/// command's id is in the result's header; its answer is among the events.
HOST_API int host_command(double now_us, const std::uint8_t* verb, std::size_t verb_len,
                          const std::uint8_t* args_json, std::size_t args_len) {
  std::vector<std::string> args;
  try {
    auto text = text_at(args_json, args_len);
    if (json_depth(text, 2) > 1)
      return fail("command arguments must be a flat JSON array");
    auto a = json::parse(text.empty() ? std::string_view("[]") : text);
    if (!a.is_array())
      return fail("command arguments must be a JSON array");
    if (a.size() > limits::command_args_max)
      return fail("more than " + std::to_string(limits::command_args_max) + " arguments");
    for (auto& v : a) {
      if (v.is_string())
        args.push_back(v.get<std::string>());
      else if (v.is_number())
        args.push_back(v.dump());
      else
        return fail("command arguments must be strings or numbers, not " + v.dump());
    }
  } catch (const json::parse_error& e) {
    return fail("command arguments: " + json_error_text(e.what()));
  }
  if (!g_host)
    return fail("no role: call host_create first (or it failed)");
  auto id = g_host->next_command++;
  auto cmd = text_command_of(id, std::string(text_at(verb, verb_len)), std::move(args));
  return run(now_us, id, [&](role& r, context& c, effects& fx) { deliver_command(r, c, cmd, fx); });
}

/// Serves `data` under its SHA-256; the result's JSON is {"file": {hash, name, size}}.
HOST_API int host_content_add(const std::uint8_t* name, std::size_t name_len,
                              const std::uint8_t* data, std::size_t len) {
  if (!g_host)
    return fail("no role: call host_create first (or it failed)");
  auto info = g_host->content.add(std::string(text_at(name, name_len)), bytes(data, data + len));
  if (!info)
    return fail("content store full: " + std::to_string(g_host->content.used_bytes()) + " of " +
                std::to_string(g_host->content.max_bytes()) + " bytes used");
  json file = {{"hash", to_hex(info->hash)}, {"name", info->name}, {"size", info->size}};
  wasm::encode_result(json{{"file", file}}.dump(-1, ' ', false, json::error_handler_t::replace),
                      g_out);
  return 0;
}

/// The bytes of a served file named by its 32-byte SHA-256 (nullptr if not
/// served); valid until the next call that changes the content.
HOST_API const std::uint8_t* host_content_ptr(const std::uint8_t* hash) {
  digest d{};
  std::memcpy(d.data(), hash, d.size());
  auto* b = g_host ? g_host->content.data(d) : nullptr;
  return b ? b->data() : nullptr;
}
HOST_API std::size_t host_content_len(const std::uint8_t* hash) {
  digest d{};
  std::memcpy(d.data(), hash, d.size());
  auto* b = g_host ? g_host->content.data(d) : nullptr;
  return b ? b->size() : 0;
}

/// SHA-224 / SHA-256 of `len` bytes with the build's hashing code (portable
/// under emscripten); returns a pointer to the 28 / 32 digest bytes.
HOST_API const std::uint8_t* host_sha224(const std::uint8_t* data, std::size_t len) {
  auto d = sha224::of(byte_view{data, len});
  std::memcpy(g_hash.data(), d.data(), d.size());
  return g_hash.data();
}
HOST_API const std::uint8_t* host_sha256(const std::uint8_t* data, std::size_t len) {
  auto d = sha256::of(byte_view{data, len});
  std::memcpy(g_hash.data(), d.data(), d.size());
  return g_hash.data();
}

} // extern "C"
