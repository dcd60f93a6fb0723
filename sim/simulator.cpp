#include "sim/simulator.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/registry.hpp"
#include "protocols/common/invariant.hpp"
#include "protocols/common/limits.hpp"
#include "sim/file_placement.hpp"
#include "sim/seed_streams.hpp"
#include "protocols/common/printable.hpp"
#include "sim/sim_time.hpp"
#include "sim/wall_clock.hpp"

#include <caf/all.hpp>

#include <cstdio>
#include <stdexcept>
#include <unistd.h>

namespace peerlab::sim {

namespace {

// What a command carries, for the fingerprint: a text form digests its verb
// and arguments as written (as every scenario and driver command always did),
// a typed one its canonical text.
std::uint64_t content_digest(const command& c) {
  if (auto* t = c.as<text_commands>()) {
    const auto& tc = std::get<text_command>(*t);
    return command_digest(tc.verb, tc.args);
  }
  return command_digest(c.describe(), {});
}

} // namespace

// The view of the simulator a protocol workload driver gets.
class simulator::api_for_driver final : public sim_api {
public:
  api_for_driver(simulator& sim, std::uint32_t index) : sim_(sim), index_(index) {}
  time_us now() const override { return sim_.now_; }
  time_us end_time() const override { return sim_.end_; }
  const scenario& spec() const override { return sim_.spec_; }
  rng& workload_rng() override { return sim_.workload_rng_; }
  std::uint64_t run_seed() const override { return sim_.seed_; }
  std::size_t node_count() const override { return sim_.nodes_.size(); }
  std::uint32_t group_of(std::uint32_t node) const override { return sim_.node_group_[node]; }
  std::pair<std::uint32_t, std::uint32_t> group_nodes(const std::string& group) const override {
    for (std::uint32_t g = 0; g < sim_.spec_.groups.size(); ++g)
      if (sim_.spec_.groups[g].name == group)
        return {sim_.group_first_[g], sim_.group_first_[g + 1]};
    throw std::runtime_error("no group \"" + group + "\"");
  }
  bool online(std::uint32_t node) const override { return sim_.nodes_[node].online; }
  std::uint64_t issue_command(std::uint32_t node, const std::string& role, const std::string& verb,
                              std::vector<std::string> args) override {
    if (!sim_.nodes_[node].online || !sim_.find_role(node, role))
      return 0;
    pending_command pc;
    pc.role = role;
    pc.cmd = text_command_of(sim_.next_command_id_++, verb, std::move(args));
    return sim_.queue_command(node, std::move(pc));
  }
  void schedule(time_us t, std::uint32_t node, std::uint64_t arg) override {
    sim_.driver_args_[sim_.seq_] = arg;
    sim_.push({std::max(t, sim_.now_), 0, driver_tick, node, index_, 0, event_kind::control, 0});
  }
  void count(const char* name, double delta, std::uint32_t group) override {
    sim_.stats_.metric(group, {name, delta, true});
  }
  void observe(const char* name, double value, std::uint32_t group) override {
    sim_.stats_.metric(group, {name, value, false});
  }
  const file_catalog& catalog() const override { return sim_.catalog_; }
  bool holds(std::uint32_t node, std::uint32_t file) const override {
    return sim_.nodes_[node].content->holds(file);
  }
  const kv_store& store_of(std::uint32_t node) const override { return sim_.nodes_[node].store; }
  std::optional<std::pair<double, double>> node_point(std::uint32_t node) const override {
    return sim_.net_->point(node);
  }
  time_us base_rtt(std::uint32_t a, std::uint32_t b) const override {
    return 2 * sim_.net_->base_latency(a, b);
  }
  const role* role_of(std::uint32_t node, const std::string& name) const override {
    if (!sim_.nodes_[node].online)
      return nullptr;
    auto* r = sim_.find_role(node, name);
    return r ? r->logic.get() : nullptr;
  }

private:
  simulator& sim_;
  std::uint32_t index_;
};

std::uint64_t simulator::queue_command(std::uint32_t node, pending_command pc) {
  auto id = pc.cmd.id;
  commands_[seq_] = std::move(pc); // keyed by the event's own sequence number
  push({now_, 0, 0, node, 0, 0, event_kind::command, 0});
  return id;
}

void simulator::local_command(peer_id self, port_t to, command c) {
  pending_command pc;
  pc.port = to;
  pc.cmd = std::move(c);
  queue_command(static_cast<std::uint32_t>(self), std::move(pc));
}

void simulator::run_command(sim_event& e, pending_command& pc) {
  auto& node = nodes_[e.node];
  hosted_role* r = nullptr;
  if (node.online)
    r = pc.role.empty() ? find_role(e.node, pc.port) : find_role(e.node, pc.role);
  if (!r && node.online && pc.role.empty() && !pc.reply) { // asked by a role: it hears so
    effects fx;
    fx.fail(pc.cmd, fail_code::unavailable,
            std::string("this node runs no ") + port_name(pc.port) + " role");
    apply_direct(e.node, pc.port, fx);
    return;
  }
  if (!r) {
    ++stats_.commands_skipped_offline;
    return;
  }
  if (pc.reply) {
    fp_.extend(e.t, event_kind::command, e.node, r->port, pc.reply->command_id,
               command_digest(pc.reply->kind, {}));
    to_role(
      e.node, *r,
      [&](role& l, context& ctx, effects& fx) { l.reply(ctx, pc.reply_from, *pc.reply, fx); },
      reply_atom::value, pc.reply_from, std::move(*pc.reply));
    return;
  }
  fp_.extend(e.t, event_kind::command, e.node, r->port, pc.cmd.id, content_digest(pc.cmd));
  to_role(
    e.node, *r, [&](role& l, context& ctx, effects& fx) { deliver_command(l, ctx, pc.cmd, fx); },
    command_atom::value, std::move(pc.cmd));
}

simulator::simulator(const scenario& s, sim_options opts)
    : spec_(s), opts_(std::move(opts)),
      seed_(opts_.has_seed_override ? opts_.seed_override : s.seed), end_(s.duration),
      net_rng_(stream_seed(seed_, seed_stream::network)),
      churn_rng_(stream_seed(seed_, seed_stream::churn)),
      workload_rng_(stream_seed(seed_, seed_stream::workload)), stats_(s.groups.size(), seed_) {
  // Nodes, numbered group after group.
  for (std::uint32_t g = 0; g < spec_.groups.size(); ++g) {
    group_first_.push_back(static_cast<std::uint32_t>(node_group_.size()));
    for (std::uint64_t i = 0; i < spec_.groups[g].count; ++i)
      node_group_.push_back(g);
  }
  group_first_.push_back(static_cast<std::uint32_t>(node_group_.size()));
  nodes_.resize(node_group_.size());
  for (std::uint32_t n = 0; n < nodes_.size(); ++n)
    nodes_[n].content = std::make_unique<synthetic_content>(&catalog_, &sinks_, n);
  placement_rng_ = stream_rng(seed_, seed_stream::placement);
  auto& placement = placement_rng_;
  net_ = std::make_unique<network_model>(spec_, node_group_, placement,
                                         stream_seed(seed_, seed_stream::links));

  sinks_.on_commit = [this](std::uint32_t node, const digest& h, bool intact) {
    for (auto& d : drivers_)
      d.driver->on_commit(*d.api, node, h, intact);
  };

  if (opts_.eng == engine::actors) {
    caf_cfg_ = std::make_unique<caf::actor_system_config>();
    caf_cfg_->set("scheduler.policy", caf::atom("testing"));
    caf_sys_ = std::make_unique<caf::actor_system>(*caf_cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(caf_sys_->scheduler());
  }
  fp_.attach(opts_.recorder);
  watchdog_bound_ = opts_.max_events_per_instant;
  if (watchdog_bound_ == 0)
    watchdog_bound_ = std::max<std::uint64_t>(limits::events_per_instant_max,
                                              limits::events_per_instant_per_node_max *
                                                static_cast<std::uint64_t>(nodes_.size()));

  // Churn: which spec applies to each group.
  churn_of_group_.assign(spec_.groups.size(), -1);
  for (std::size_t i = 0; i < spec_.churn.size(); ++i) {
    for (std::uint32_t g = 0; g < spec_.groups.size(); ++g)
      if (spec_.groups[g].name == spec_.churn[i].group)
        churn_of_group_[g] = static_cast<std::int32_t>(i);
  }

  // Every node comes up at its group's start (plus spread).
  for (std::uint32_t n = 0; n < nodes_.size(); ++n) {
    auto& g = spec_.groups[node_group_[n]];
    time_us t = g.start;
    if (g.start_spread > 0)
      t =
        later(t, static_cast<time_us>(placement.below(static_cast<std::uint64_t>(g.start_spread))));
    push({t, 0, 0, n, 0, 0, event_kind::node_up, 0});
  }
  place_files();
  queue_scenario_commands();
  make_drivers();
  for (auto& d : drivers_)
    d.driver->start(*d.api);
  if (spec_.metrics_interval > 0)
    schedule_control(spec_.metrics_interval, 0, sample_metrics, 0);
}

simulator::~simulator() {
  // The test scheduler cannot finish an actor system whose actors are alive:
  // exit every actor and drain before the system is destroyed.
  if (caf_sys_) {
    for (auto& n : nodes_)
      for (auto& r : n.roles)
        if (r.actor)
          caf::anon_send_exit(r.actor, caf::exit_reason::user_shutdown);
    sched_->run();
    for (auto& n : nodes_)
      n.roles.clear();
    caf_sys_.reset();
  }
}

void simulator::push(sim_event e) {
  e.seq = seq_++;
  PEERLAB_INVARIANT(e.t >= now_, "an event of kind " + std::string(kind_name(e.kind)) +
                                   " for node " + std::to_string(e.node) + " at " +
                                   std::to_string(e.t) + " us is scheduled before now (" +
                                   std::to_string(now_) + " us)");
  PEERLAB_INVARIANT(queue_.size() < limits::sim_events_max,
                    "at most " + std::to_string(limits::sim_events_max) +
                      " pending events (a runaway scenario)");
  queue_.push(e);
}

std::uint32_t simulator::store_frame(bytes&& b, const frame_meta& m) {
  if (!free_frames_.empty()) {
    auto slot = free_frames_.back();
    free_frames_.pop_back();
    frames_[slot] = std::move(b);
    meta_[slot] = m;
    return slot;
  }
  frames_.push_back(std::move(b));
  meta_.push_back(m);
  return static_cast<std::uint32_t>(frames_.size() - 1);
}

void simulator::schedule_control(time_us t, std::uint32_t node, std::uint64_t action,
                                 std::uint32_t arg) {
  push({t, 0, action, node, arg, 0, event_kind::control, 0});
}

// -- workload ---------------------------------------------------------------

void simulator::place_files() {
  sim::place_files(spec_, seed_, group_first_, catalog_);
  for (std::uint32_t f = 0; f < catalog_.size(); ++f)
    for (auto h : catalog_.at(f).holders)
      nodes_[h].content->hold(f);
}

void simulator::queue_scenario_commands() {
  for (auto& c : spec_.commands) {
    auto g = static_cast<std::uint32_t>(spec_.find_group(c.group) - spec_.groups.data());
    for (auto n = group_first_[g]; n < group_first_[g + 1]; ++n) {
      pending_command pc; // text form: the role parses it when it arrives
      pc.role = c.role;
      pc.cmd = text_command_of(next_command_id_++, c.verb, c.args);
      commands_[seq_] = std::move(pc); // the event's own sequence number keys its payload
      push({c.at, 0, 0, n, 0, 0, event_kind::command, 0});
    }
  }
}

void simulator::make_drivers() {
  // Scenario-wide drivers come first, then one driver per item in file order.
  auto add = [this](std::unique_ptr<workload_driver> d) {
    auto index = static_cast<std::uint32_t>(drivers_.size());
    drivers_.push_back({std::move(d), std::make_unique<api_for_driver>(*this, index)});
  };
  for (auto& [name, kind] : driver_kinds()) {
    if (!kind.make_once)
      continue;
    bool used = false;
    for (auto& item : spec_.driver_items)
      used = used || item.kind == name;
    for (auto& c : spec_.checkers)
      for (auto& owned : kind.checkers)
        used = used || c.check == owned;
    if (used)
      add(kind.make_once(spec_));
  }
  for (auto& item : spec_.driver_items)
    if (auto& kind = driver_kinds().at(item.kind); !kind.make_once)
      add(kind.make(item.item, spec_));
}

// -- the seam -----------------------------------------------------------------

void simulator::send(peer_id from, peer_id to, bytes frame) {
  auto& net = stats_.net;
  ++net.sent;
  net.sent_bytes += frame.size();
  if (to >= nodes_.size()) {
    ++net.unknown_peer;
    return;
  }
  auto src = static_cast<std::uint32_t>(from), dst = static_cast<std::uint32_t>(to);
  auto& sn = nodes_[src];
  // Upload link: frames leave one after another at the node's upload rate.
  time_us depart = now_;
  double up = net_->up_bps(node_group_[src]);
  if (up > 0)
    depart = sn.up.transmit(now_, frame.size() + spec_.frame_overhead, up);
  auto gs = node_group_[src], gd = node_group_[dst];
  auto fate = net_->rules(gs, gd).run({gs, gd, now_, frame.size()}, net_rng_);
  if (fate.copies == 0) {
    ++(fate.dropped_by == link::rule_kind::partition ? net.lost_partition : net.lost);
    return;
  }
  net.duplicated += fate.copies - 1;
  frame_meta m{depart, sn.incarnation, 0, leaving_node_ == static_cast<std::int64_t>(src)};
  for (std::size_t c = 0; c + 1 < fate.copies; ++c)
    transmit(src, dst, frame, m, fate.copy[c]);
  transmit(src, dst, std::move(frame), m, fate.copy[fate.copies - 1]);
}

void simulator::transmit(std::uint32_t from, std::uint32_t to, bytes frame, const frame_meta& m,
                         const link::copy_fate& c) {
  auto& net = stats_.net;
  link::apply(c, frame);
  net.truncated += c.truncated;
  net.corrupted += !c.bits.empty();
  time_us arrive = later(m.depart, net_->latency(from, to, net_rng_));
  if (c.delayed) {
    arrive = later(arrive, c.delay);
    ++net.reordered;
  } else if (spec_.fifo_links) {
    // Like a TCP connection: a frame never overtakes an earlier one on its link.
    // Frames sent before the sender's queues were dropped do not hold back
    // later ones (its goodbyes): those still queued were dropped, the rest
    // left earlier.
    auto& mark = link_clock_[(static_cast<std::uint64_t>(from) << 32) | to];
    auto epoch = nodes_[from].link_epoch;
    if (mark.epoch == epoch)
      arrive = std::max(arrive, mark.last);
    mark = {arrive, epoch};
  }
  auto slot = store_frame(std::move(frame), m);
  bool limited_down = net_->down_bps(node_group_[to]) > 0;
  push({arrive, 0, from, to, slot, 0, limited_down ? event_kind::arrive : event_kind::deliver, 0});
}

bool simulator::sender_gone(std::uint32_t from, const frame_meta& m) const {
  auto& n = nodes_[from];
  if (m.goodbye || n.incarnation == m.sender_incarnation)
    return false; // the session that sent it is still up, or it is a goodbye
  std::uint32_t session = m.sender_incarnation / 2, last_ended = n.incarnation / 2 - 1;
  if (last_ended - session >= n.session_end.size())
    return true; // older than the sessions remembered: it spent several sessions in flight
  return m.depart > n.session_end[session % n.session_end.size()];
}

bool simulator::arrives(const sim_event& e) {
  auto& m = meta_[e.slot];
  auto from = static_cast<std::uint32_t>(e.a);
  bool dropped = true;
  if (sender_gone(from, m))
    ++stats_.net.lost_sender_down; // still queued for upload when its sender went down
  else if (net_->partitioned(node_group_[from], node_group_[e.node], now_))
    ++stats_.net.lost_partition; // in flight when the partition started
  else if (!nodes_[e.node].online)
    ++stats_.net.lost_offline;
  else
    dropped = false;
  if (dropped) {
    frames_[e.slot] = bytes{};
    free_frames_.push_back(e.slot);
  }
  return !dropped;
}

void simulator::after(peer_id self, port_t port, time_us delay, std::uint64_t token) {
  auto n = static_cast<std::uint32_t>(self);
  fp_.timer_set(n, port, delay, token);
  push({later(now_, delay), 0, token, n, 0, nodes_[n].incarnation, event_kind::timer, port});
}

void simulator::metric(peer_id self, const effects::metric_sample& m) {
  stats_.metric(node_group_[self], m);
}

void simulator::emit(peer_id self, port_t port, event&& e) {
  auto n = static_cast<std::uint32_t>(self);
  // Fields may carry text a peer sent (error reasons, names): from here on
  // they reach stats, drivers, the results file and the terminal, so they are
  // made printable once, at this boundary.
  for (auto& [k, v] : e.fields)
    if (!is_printable(v))
      v = printable(v);
  if (auto to = issuer_port(e.command_id); to != 0) { // a reply to another role of the node
    pending_command pc;
    pc.port = to;
    pc.reply = e;
    pc.reply_from = port;
    queue_command(n, std::move(pc));
  }
  for (auto& d : drivers_)
    d.driver->on_event(*d.api, n, e);
  if (opts_.on_event)
    opts_.on_event(n, now_, e);
  if (spec_.record_events) {
    if (recorded_.size() >= 10'000'000) {
      events_truncated_ = true;
      return;
    }
    nlohmann::json d;
    for (auto& [k, v] : e.fields)
      d[k] = v;
    for (auto& [k, v] : e.values)
      d[k] = v;
    recorded_.push_back(
      {now_, n, e.kind, d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  }
}

// -- running roles ------------------------------------------------------------

simulator::hosted_role* simulator::find_role(std::uint32_t node, port_t port) {
  for (auto& r : nodes_[node].roles)
    if (r.port == port)
      return &r;
  return nullptr;
}

simulator::hosted_role* simulator::find_role(std::uint32_t node, const std::string& name) {
  for (auto& r : nodes_[node].roles)
    if (name == r.logic->name())
      return &r;
  return nullptr;
}

template <class Direct, class... Msg>
void simulator::to_role(std::uint32_t n, hosted_role& h, Direct&& direct, Msg&&... msg) {
  if (caf_sys_) {
    caf::anon_send(h.actor, std::forward<Msg>(msg)...);
    drain();
    return;
  }
  auto& node = nodes_[n];
  context ctx{now_, n, node.random, node.store, *node.content, {}};
  direct(*h.logic, ctx, direct_fx_);
  apply_direct(n, h.port, direct_fx_);
}

void simulator::apply_direct(std::uint32_t node, port_t port, effects& fx) {
  // The same steps as the actor shell (actors/role_actor.cpp), without CAF.
  for (auto& c : fx.asks)
    local_command(node, c.to, std::move(c.cmd));
  for (auto& f : fx.frames)
    send(node, f.to, std::move(f.data));
  for (auto& t : fx.timers)
    after(node, port, t.delay, t.token);
  for (auto& m : fx.metrics)
    metric(node, m);
  for (auto& e : fx.events)
    emit(node, port, std::move(e));
  fx.clear();
}

void simulator::drain() {
  if (sched_)
    sched_->run();
  if (failure_)
    std::rethrow_exception(std::exchange(failure_, nullptr));
}

bool simulator::failed(peer_id, const std::exception_ptr& error) {
  if (!failure_)
    failure_ = error; // the first failure stops the run when the actor returns
  return true;
}

void simulator::node_up(std::uint32_t n) {
  auto& node = nodes_[n];
  if (node.online)
    return;
  auto g = node_group_[n];
  auto& gs = spec_.groups[g];
  node.online = true;
  ++node.incarnation;
  ++stats_.node_starts;
  // A fresh generator per incarnation: a restarted node does not replay its past.
  node.random.reseed(node_seed(seed_, n, node.incarnation));
  auto roles = make_roles(gs.roles, "groups." + gs.name + ".roles", gs.adversary);
  node.roles.clear();
  for (auto& r : roles) {
    hosted_role h{r->port(), r, caf::actor{}};
    if (caf_sys_)
      h.actor =
        caf_sys_->spawn(role_actor, static_cast<runtime*>(this), static_cast<peer_id>(n), r);
    node.roles.push_back(std::move(h));
  }
  for (auto& h : node.roles)
    to_role(
      n, h, [](role& l, context& ctx, effects& fx) { l.start(ctx, fx); }, start_atom::value);
  for (auto& d : drivers_)
    d.driver->on_node_up(*d.api, n);
  if (churn_of_group_[g] >= 0) {
    auto& cs = spec_.churn[static_cast<std::size_t>(churn_of_group_[g])];
    schedule_control(later(now_, delay_us(cs.session.sample(churn_rng_))), n, churn_leave, 0);
  }
}

void simulator::node_down(std::uint32_t n, bool crash) {
  auto& node = nodes_[n];
  if (!node.online)
    return;
  // Whatever waits in the node's link queues is lost, crash or leave; a
  // leaving node's goodbyes then go out on the emptied upload link.
  node.session_end[(node.incarnation / 2) % node.session_end.size()] = now_;
  node.up.clear(now_);
  node.down.clear(now_);
  ++node.link_epoch;
  if (crash) {
    ++stats_.crashes;
    if (caf_sys_) {
      for (auto& h : node.roles)
        caf::anon_send_exit(h.actor, caf::exit_reason::kill);
      drain();
    }
  } else {
    ++stats_.leaves;
    leaving_node_ = n;
    for (auto& h : node.roles)
      to_role(
        n, h, [](role& l, context& ctx, effects& fx) { l.stop(ctx, fx); }, leave_atom::value);
    leaving_node_ = -1;
  }
  node.roles.clear();
  node.content->detach_sinks(); // partial downloads survive, as on a disk
  node.online = false;
  ++node.incarnation; // pending timers of the old incarnation are now stale
  for (auto& d : drivers_)
    d.driver->on_node_down(*d.api, n, crash);
}

void simulator::deliver(sim_event& e) {
  auto& node = nodes_[e.node];
  auto waited = meta_[e.slot].receiver_incarnation; // 0: no download link to wait for
  if (waited == 0 && !arrives(e))
    return;
  bytes frame = std::move(frames_[e.slot]);
  free_frames_.push_back(e.slot);
  if (!node.online || (waited != 0 && waited != node.incarnation)) {
    ++stats_.net.lost_offline; // its receiver went down while it waited in the download queue
    return;
  }
  port_t port = frame.empty() ? 0 : frame[0];
  fp_.extend_frame(e.t, event_kind::deliver, e.node, port, e.a, frame);
  hosted_role* r = frame.empty() ? nullptr : find_role(e.node, port);
  if (!r) {
    ++stats_.net.rejected_routing;
    return;
  }
  ++stats_.net.delivered;
  stats_.net.delivered_bytes += frame.size();
  to_role(
    e.node, *r, [&](role& l, context& ctx, effects& fx) { l.frame(ctx, e.a, frame, fx); },
    frame_atom::value, static_cast<peer_id>(e.a), std::move(frame));
}

void simulator::process(sim_event& e) {
  switch (e.kind) {
  case event_kind::deliver:
    deliver(e);
    break;
  case event_kind::arrive: {
    // Download link: frames are received one after another at its rate.
    if (!arrives(e))
      break;
    auto& node = nodes_[e.node];
    double down = net_->down_bps(node_group_[e.node]);
    meta_[e.slot].receiver_incarnation = node.incarnation;
    sim_event d = e;
    d.t = node.down.transmit(now_, frames_[e.slot].size() + spec_.frame_overhead, down);
    d.kind = event_kind::deliver;
    push(d);
    break;
  }
  case event_kind::timer: {
    auto& node = nodes_[e.node];
    PEERLAB_INVARIANT(e.incarnation <= node.incarnation,
                      "a timer of node " + std::to_string(e.node) + " comes from incarnation " +
                        std::to_string(e.incarnation) + ", after the current one (" +
                        std::to_string(node.incarnation) + ")");
    if (!node.online || node.incarnation != e.incarnation)
      break; // the role that set it is gone
    auto* r = find_role(e.node, e.port);
    if (!r)
      break;
    fp_.extend(e.t, event_kind::timer, e.node, e.port, e.a);
    to_role(
      e.node, *r, [&](role& l, context& ctx, effects& fx) { l.timer(ctx, e.a, fx); },
      timer_atom::value, e.a);
    break;
  }
  case event_kind::command: {
    auto it = commands_.find(e.seq);
    if (it == commands_.end())
      break;
    auto pc = std::move(it->second);
    commands_.erase(it);
    run_command(e, pc);
    break;
  }
  case event_kind::node_up:
    fp_.extend(e.t, event_kind::node_up, e.node, 0, 0);
    node_up(e.node);
    break;
  case event_kind::node_down:
    break; // departures are control events (churn_leave)
  case event_kind::control:
    switch (e.a) {
    case sample_metrics:
      fp_.extend(e.t, event_kind::control, 0, 0, sample_metrics);
      take_metric_sample();
      if (later(now_, spec_.metrics_interval) <= end_)
        schedule_control(later(now_, spec_.metrics_interval), 0, sample_metrics, 0);
      break;
    case driver_tick: {
      auto it = driver_args_.find(e.seq);
      std::uint64_t arg = it == driver_args_.end() ? 0 : it->second;
      if (it != driver_args_.end())
        driver_args_.erase(it);
      fp_.extend(e.t, event_kind::control, e.node, 0, arg);
      auto& d = drivers_[e.slot];
      d.driver->tick(*d.api, e.node, arg);
      break;
    }
    case churn_leave: {
      if (!nodes_[e.node].online)
        break;
      auto& cs = spec_.churn[static_cast<std::size_t>(churn_of_group_[node_group_[e.node]])];
      bool crash = churn_rng_.chance(cs.crash);
      fp_.extend(e.t, event_kind::node_down, e.node, crash ? 1 : 0, 0);
      node_down(e.node, crash);
      if (cs.restart)
        push({later(now_, delay_us(cs.downtime.sample(churn_rng_))), 0, 0, e.node, 0, 0,
              event_kind::node_up, 0});
      break;
    }
    }
    break;
  }
}

void simulator::take_metric_sample() {
  // Rows per sample: counters per group, nodes online per group, four network-wide.
  auto rows = stats_.counters().size() * spec_.groups.size() + spec_.groups.size() + 4;
  auto bound = opts_.max_metric_rows ? opts_.max_metric_rows : limits::metric_rows_max;
  if (series_.size() + rows > bound) {
    metrics_truncated_ = true; // keep what is stored, take no more samples
    return;
  }
  for (auto& [name, per_group] : stats_.counters())
    for (std::uint32_t g = 0; g < per_group.size(); ++g)
      series_.push_back({now_, g, name, per_group[g]});
  // Network and node counts as series too, attributed to group "*" (index = groups).
  auto G = static_cast<std::uint32_t>(spec_.groups.size());
  std::vector<double> online(G, 0);
  for (std::uint32_t n = 0; n < nodes_.size(); ++n)
    if (nodes_[n].online)
      online[node_group_[n]] += 1;
  for (std::uint32_t g = 0; g < G; ++g)
    series_.push_back({now_, g, "nodes_online", online[g]});
  series_.push_back({now_, G, "frames_delivered", static_cast<double>(stats_.net.delivered)});
  series_.push_back({now_, G, "frames_lost", static_cast<double>(stats_.net.lost)});
  for (auto& d : drivers_)
    for (auto& [name, value] : d.driver->totals(*d.api))
      series_.push_back({now_, G, name, value});
}

void simulator::show_progress(bool final) {
  auto ns = wall_clock_ns();
  double wall = static_cast<double>(ns - wall_start_ns_) / 1e9;
  double rate = wall > 0 ? static_cast<double>(fp_.events()) / wall : 0;
  double done = end_ > 0 ? static_cast<double>(now_) / static_cast<double>(end_) : 1;
  double eta = done > 0 ? wall / done - wall : 0;
  std::fprintf(stderr, "\r[peerlab] virtual %s / %s  %llu events  %.0f events/s  ETA %.0fs   %s",
               cfg::format_duration(now_).c_str(), cfg::format_duration(end_).c_str(),
               static_cast<unsigned long long>(fp_.events()), rate, final ? 0.0 : eta,
               final ? "\n" : "");
  std::fflush(stderr);
}

void simulator::watchdog(const sim_event& e) {
  PEERLAB_INVARIANT(e.t >= now_, "virtual time never decreases: an event of kind " +
                                   std::string(kind_name(e.kind)) + " for node " +
                                   std::to_string(e.node) + " at " + std::to_string(e.t) +
                                   " us comes after " + std::to_string(now_) + " us");
  events_at_now_ = e.t == now_ ? events_at_now_ + 1 : 1;
  if (events_at_now_ <= watchdog_bound_)
    return;
  std::string what = kind_name(e.kind);
  if (e.kind == event_kind::control) {
    static const char* actions[] = {"", "metrics sample", "?", "churn leave", "workload tick"};
    what += " (" + std::string(e.a < 5 ? actions[e.a] : "?") + ")";
  } else if (e.kind == event_kind::deliver || e.kind == event_kind::arrive) {
    what += " (frame from node " + std::to_string(e.a) + ")";
  } else if (e.kind == event_kind::timer) {
    what += " (port " + std::string(port_name(e.port)) + ", token " + std::to_string(e.a) + ")";
  }
  throw watchdog_error("watchdog: more than " + std::to_string(watchdog_bound_) +
                       " events at virtual time " + cfg::format_duration(e.t) + " (" +
                       std::to_string(e.t) + " us) without time advancing (a livelock); the " +
                       "last was a " + what + " event on node " + std::to_string(e.node) +
                       " of group \"" + spec_.groups[node_group_[e.node]].name + "\"");
}

void simulator::run() {
  wall_start_ns_ = wall_last_ns_ = wall_clock_ns();
  bool show = opts_.progress && isatty(2);
  std::uint64_t steps = 0;
  bool shown = false;
  while (!queue_.empty()) {
    sim_event e = queue_.top();
    if (e.t > end_)
      break;
    queue_.pop();
    watchdog(e);
    now_ = e.t;
    process(e);
    ++stats_.events;
    if (fp_.recorder_done())
      break; // peerlab check has the steps it re-ran this run for
    if (show && (++steps & 0xffff) == 0) {
      auto ns = wall_clock_ns();
      if (ns - wall_last_ns_ > 1'000'000'000) {
        wall_last_ns_ = ns;
        show_progress(false);
        shown = true;
      }
    }
  }
  now_ = end_;
  take_metric_sample();
  fp_.finish(now_, final_state_digest());
  if (shown)
    show_progress(true);
}

} // namespace peerlab::sim
