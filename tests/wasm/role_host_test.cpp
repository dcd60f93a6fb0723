// The WebAssembly role host's C API, built natively: the paths the node test
// (tests/scripts/wasm_role_host.sh) cannot reach with traffic and gossip:
// asks to roles the node lacks, a role that throws, metrics on and off, and
// the byte layout of the effects buffer (web/wasm/effects_buffer.hpp).
#include "web/wasm/effects_buffer.hpp"
#include "web/wasm/modules.hpp"

#include "protocols/common/module.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <stdexcept>
#include <string>

extern "C" {
std::uint8_t* host_buffer(std::size_t n);
const std::uint8_t* host_out_ptr();
std::size_t host_out_len();
int host_create(const std::uint8_t*, std::size_t, std::uint32_t, std::uint32_t, std::uint32_t,
                std::uint32_t);
void host_set_metrics(int on);
int host_start(double now_us);
int host_frame(double now_us, std::uint32_t, std::uint32_t, const std::uint8_t*, std::size_t);
int host_timer(double now_us, std::uint32_t, std::uint32_t);
int host_command(double now_us, const std::uint8_t*, std::size_t, const std::uint8_t*, std::size_t);
}

using namespace peerlab;
using nlohmann::json;

namespace {

constexpr port_t probe_port = 77;

/// On start: a frame to peer 2^40+5 and a timer (delay 2^33, token 2^63+9).
/// A frame "ask": asks port 99. A frame "boom": throws. The reply to an ask:
/// an event with its kind and code. Every frame counts a metric.
class probe final : public role {
public:
  port_t port() const override { return probe_port; }
  const char* name() const override { return "probe"; }
  void start(context& ctx, effects& fx) override {
    fx.send((1ull << 40) + 5, bytes{probe_port, 1, 2, 3});
    fx.after(time_us{1} << 33, (1ull << 63) + 9);
    fx.emit(event{"started", 0, {{"self", std::to_string(ctx.self)}}, {{"now", double(ctx.now)}}});
  }
  void frame(context&, peer_id, byte_view data, effects& fx) override {
    fx.count("probe.frames");
    std::string s(data.begin(), data.end());
    if (s == "ask")
      fx.ask(99, text_command_of(local_command_id(probe_port, 1), "whatever", {}));
    if (s == "boom")
      throw std::runtime_error("probe blew up");
  }
  void reply(context&, port_t from, const event& e, effects& fx) override {
    fx.emit(event{"replied",
                  e.command_id,
                  {{"kind", e.kind}, {"reason", e.field("reason") ? *e.field("reason") : ""}},
                  {{"from", double(from)}, {"code", e.value("code")}}});
  }
};

const module& probe_module() {
  static const module m{
    "probe",
    "",
    {{probe_port, "probe"}},
    {{"probe",
      [](const json&, const std::string&, const std::string&) { return std::make_shared<probe>(); },
      {"liar"},
      R"({"role": "probe"})"}},
    {}};
  return m;
}

/// The decoded effects buffer.
struct result {
  std::uint32_t status = 0;
  std::uint64_t command_id = 0;
  std::vector<std::pair<std::uint64_t, bytes>> frames;
  std::vector<std::pair<std::int64_t, std::uint64_t>> timers;
  json j;
  std::string error;
};

std::uint32_t u32_at(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}
std::uint64_t u64_at(const std::uint8_t* p) {
  return u32_at(p) | std::uint64_t(u32_at(p + 4)) << 32;
}

result out() {
  const std::uint8_t* p = host_out_ptr();
  std::size_t n = host_out_len();
  REQUIRE(n >= 32);
  REQUIRE(u32_at(p) == wasm::effects_version);
  result r;
  r.status = u32_at(p + 4);
  r.command_id = u64_at(p + 8);
  auto frames = u32_at(p + 16), timers = u32_at(p + 20), json_len = u32_at(p + 24),
       err_len = u32_at(p + 28);
  std::size_t at = 32;
  for (std::uint32_t i = 0; i < frames; ++i) {
    auto to = u64_at(p + at);
    auto len = u32_at(p + at + 8);
    at += 12;
    r.frames.push_back({to, bytes(p + at, p + at + len)});
    at += len;
  }
  for (std::uint32_t i = 0; i < timers; ++i, at += 16)
    r.timers.push_back({static_cast<std::int64_t>(u64_at(p + at)), u64_at(p + at + 8)});
  if (json_len)
    r.j = json::parse(std::string(reinterpret_cast<const char*>(p + at), json_len));
  at += json_len;
  r.error.assign(reinterpret_cast<const char*>(p + at), err_len);
  at += err_len;
  CHECK(at == n); // nothing left over
  return r;
}

int create(const std::string& spec, std::uint64_t seed = 1, std::uint64_t self = 3) {
  auto* b = host_buffer(spec.size());
  std::memcpy(b, spec.data(), spec.size());
  return host_create(b, spec.size(), std::uint32_t(seed), std::uint32_t(seed >> 32),
                     std::uint32_t(self), std::uint32_t(self >> 32));
}

int frame(double now, const std::string& data) {
  auto* b = host_buffer(data.size());
  std::memcpy(b, data.data(), data.size());
  return host_frame(now, 1, 0, b, data.size());
}

} // namespace

std::vector<const module*> peerlab::wasm::hosted_modules() { return {&probe_module()}; }

TEST_CASE("wasm host effects carry 64-bit peers, delays and tokens exactly", "[wasm]") {
  REQUIRE(create(R"({"role": "probe"})", 7, (1ull << 50) + 1) == 0);
  auto c = out();
  CHECK(c.j == json{{"role", "probe"}, {"port", probe_port}});
  REQUIRE(host_start(1234) == 0);
  auto r = out();
  CHECK(r.status == 0);
  REQUIRE(r.frames.size() == 1);
  CHECK(r.frames[0].first == (1ull << 40) + 5);
  CHECK(r.frames[0].second == bytes{probe_port, 1, 2, 3});
  REQUIRE(r.timers.size() == 1);
  CHECK(r.timers[0].first == std::int64_t{1} << 33);
  CHECK(r.timers[0].second == (1ull << 63) + 9);
  auto& e = r.j.at("events").at(0);
  CHECK(e.at("event") == "started");
  CHECK(e.at("fields").at("self") == std::to_string((1ull << 50) + 1));
  CHECK(e.at("values").at("now") == 1234);
  CHECK(e.at("command_id") == "0");
  CHECK_FALSE(r.j.contains("metrics"));
  REQUIRE(host_timer(1300, 9, 1u << 31) == 0);
  CHECK(out().j.is_null()); // nothing happened: no JSON at all
}

TEST_CASE("wasm host answers a role's asks with 503 like a node without that role", "[wasm]") {
  REQUIRE(create(R"({"role": "probe"})") == 0);
  REQUIRE(frame(10, "ask") == 0);
  auto r = out();
  auto& e = r.j.at("events").at(0);
  CHECK(e.at("event") == "replied");
  CHECK(e.at("command_id") == std::to_string(local_command_id(probe_port, 1)));
  CHECK(e.at("fields").at("kind") == "command_failed");
  CHECK(e.at("fields").at("reason") == "this node hosts only the probe role, none on port 99");
  CHECK(e.at("values").at("code") == 503);
  CHECK(e.at("values").at("from") == 99);
}

TEST_CASE("wasm host reports metrics only when asked", "[wasm]") {
  REQUIRE(create(R"("probe")") == 0);
  REQUIRE(frame(1, "x") == 0);
  CHECK(out().j.is_null());
  host_set_metrics(1);
  REQUIRE(frame(2, "x") == 0);
  CHECK(out().j.at("metrics") ==
        json::parse(R"([{"name": "probe.frames", "value": 1.0, "counter": true}])"));
}

TEST_CASE("wasm host stops a role that threw until it is created again", "[wasm]") {
  REQUIRE(create(R"({"role": "probe", "adversary": "liar"})") == 0);
  REQUIRE(frame(5, "boom") == 1);
  auto r = out();
  CHECK(r.status == 1);
  CHECK(r.frames.empty());
  CHECK(r.error == "probe threw: probe blew up");
  REQUIRE(host_start(6) == 1);
  CHECK(out().error == "the role threw earlier (probe blew up); create the host again");
  REQUIRE(create(R"({"role": "probe"})") == 0);
  CHECK(host_start(0) == 0);
}

TEST_CASE("wasm host refuses bad times, roles and arguments with their reason", "[wasm]") {
  REQUIRE(create(R"({"role": "probe"})") == 0);
  REQUIRE(host_start(100) == 0);
  CHECK(host_start(99) == 1);
  CHECK(out().error == "time went backwards: 99 us after 100 us");
  CHECK(host_start(-1) == 1);
  CHECK(host_start(1e300) == 1);
  CHECK(out().error == "now_us must be a whole number of microseconds in [0, 2^53]");
  std::string verb = "v", args = R"(["a", 1, )";
  auto* b = host_buffer(verb.size() + args.size());
  std::memcpy(b, verb.data(), verb.size());
  std::memcpy(b + verb.size(), args.data(), args.size());
  CHECK(host_command(200, b, verb.size(), b + verb.size(), args.size()) == 1);
  CHECK(out().error.rfind("command arguments: ", 0) == 0);
  CHECK(create(R"({"role": "probe", "adversary": 3})") == 1);
  CHECK(out().error == "\"adversary\" must be a string");
  CHECK(create(R"({"role": "nope"})") == 1);
  CHECK(out().error == "no role \"nope\" in this build (it hosts: probe)");
  CHECK(create(R"({"roles": "probe"})") == 1);
  CHECK(create("{") == 1);
  CHECK(out().error.rfind("role JSON: ", 0) == 0);
  CHECK(host_start(0) == 1); // a failed create leaves no role
  CHECK(out().error == "no role: call host_create first (or it failed)");
}
