// A role that throws inside its CAF actor: CAF catches the exception, and the
// actor shell's handler must hand it to the runtime (runtime::failed), so the
// simulator can stop the run exactly as the direct engine does.
#include "actors/role_actor.hpp"
#include "protocols/common/invariant.hpp"
#include "protocols/common/memory_store.hpp"
#include "sim/synthetic_content.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace peerlab;

namespace {

class recording_runtime final : public runtime {
public:
  std::vector<std::string> failures;

  time_us now() const override { return 0; }
  void send(peer_id, peer_id, bytes) override {}
  void after(peer_id, port_t, time_us, std::uint64_t) override {}
  void local_command(peer_id, port_t, command) override {}
  rng& random(peer_id) override { return random_; }
  kv_store& store(peer_id) override { return store_; }
  content_store& content(peer_id) override { return content_; }
  void metric(peer_id, const effects::metric_sample&) override {}
  void emit(peer_id, port_t, event&&) override {}
  bool failed(peer_id self, const std::exception_ptr& error) override {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      failures.push_back(std::to_string(self) + ": " + e.what());
    }
    return true;
  }

private:
  rng random_;
  memory_store store_;
  sim::file_catalog catalog_;
  sim::sink_budget sinks_;
  sim::synthetic_content content_{&catalog_, &sinks_, 0};
};

class throwing_role final : public role {
public:
  port_t port() const override { return 9; }
  const char* name() const override { return "thrower"; }
  void frame(context&, peer_id, byte_view, effects&) override {}
  void timer(context&, std::uint64_t token, effects&) override {
    PEERLAB_INVARIANT(token != 13, "token 13 never arrives");
  }
};

} // namespace

TEST_CASE("an exception in a role actor reaches runtime::failed", "[sim][actors]") {
  recording_runtime rt;
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto a = sys.spawn(role_actor, static_cast<runtime*>(&rt), peer_id{7},
                     std::shared_ptr<role>(std::make_shared<throwing_role>()));
  caf::anon_send(a, start_atom::value);
  caf::anon_send(a, timer_atom::value, std::uint64_t{1});
  sched.run();
  CHECK(rt.failures.empty());
  caf::anon_send(a, timer_atom::value, std::uint64_t{13});
  sched.run();
  REQUIRE(rt.failures.size() == 1);
  CHECK(rt.failures[0].rfind("7: invariant violated at ", 0) == 0);
  CHECK(rt.failures[0].find("token 13 never arrives") != std::string::npos);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sched.run();
}
