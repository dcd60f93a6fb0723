#include "apps/peerlab/testbed/testbed.hpp"

#include "net/identity.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/registry.hpp"
#include "sim/file_placement.hpp"
#include "sim/seed_streams.hpp"
#include "sim/sim_time.hpp"
#include "sim/summary.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace peerlab::app::testbed {

namespace {

using nlohmann::json;
using sim::delay_us;
using sim::later;
namespace fs = std::filesystem;

enum timer_kind : int {
  node_start,
  driver_tick,
  scenario_command,
  churn_leave,
  churn_return,
  run_end
};

constexpr std::size_t recorded_events_max = 1'000'000;
constexpr std::size_t node_rows_max = 1'000'000; // rows collected from all nodes' tables
constexpr const char* bridge_name = "plbr0";
constexpr std::uint16_t netns_port = 4000; // every node has its own address

// Node n's address in its namespace: 10.77.0.1, ... (250 per /24 of a /16).
std::string node_ip(std::uint32_t n) {
  return "10.77." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
}
constexpr std::int64_t stop_grace_us = 10'000'000; // then SIGKILL

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// Free loopback ports for the nodes: each is bound once to learn it, and all
// are held until every node has one, so no two nodes get the same port.
std::vector<std::uint16_t> reserve_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      for (int f : fds)
        close(f);
      if (fd >= 0)
        close(fd);
      throw std::runtime_error("testbed: cannot reserve a loopback port");
    }
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int f : fds)
    close(f);
  return ports;
}

// Hashes a file on disk, independently of the node that wrote it.
std::optional<digest> hash_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return std::nullopt;
  sha256 h;
  std::vector<std::uint8_t> buf(1 << 20);
  while (in) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0)
      h.update(byte_view{buf.data(), n});
  }
  return h.finish();
}

} // namespace

// The workload drivers' view of the live nodes: the same sim_api the
// simulator gives them, with wall-clock scenario time and commands sent
// over the nodes' control channels.
class live_world::api final : public sim::sim_api {
public:
  api(live_world& w, std::uint32_t index) : w_(w), index_(index) {}
  time_us now() const override { return w_.scenario_now(); }
  time_us end_time() const override { return w_.spec_.duration; }
  const sim::scenario& spec() const override { return w_.spec_; }
  rng& workload_rng() override { return w_.workload_rng_; }
  std::uint64_t run_seed() const override { return w_.seed_; }
  std::size_t node_count() const override { return w_.nodes_.size(); }
  std::uint32_t group_of(std::uint32_t n) const override { return w_.node_group_[n]; }
  std::pair<std::uint32_t, std::uint32_t> group_nodes(const std::string& group) const override {
    for (std::uint32_t g = 0; g < w_.spec_.groups.size(); ++g)
      if (w_.spec_.groups[g].name == group)
        return {w_.group_first_[g], w_.group_first_[g + 1]};
    throw std::runtime_error("no group \"" + group + "\"");
  }
  bool online(std::uint32_t n) const override { return w_.nodes_[n].online; }
  std::uint64_t issue_command(std::uint32_t n, const std::string& role, const std::string& verb,
                              std::vector<std::string> args) override {
    return w_.issue(n, role, verb, args);
  }
  void schedule(time_us t, std::uint32_t n, std::uint64_t arg) override {
    w_.push(std::max(t, w_.scenario_now()), driver_tick, n, index_, arg);
  }
  void count(const char* name, double delta, std::uint32_t group) override {
    w_.stats_.metric(group, {name, delta, true});
  }
  void observe(const char* name, double value, std::uint32_t group) override {
    w_.stats_.metric(group, {name, value, false});
  }
  const sim::file_catalog& catalog() const override { return w_.catalog_; }
  bool holds(std::uint32_t n, std::uint32_t file) const override {
    return w_.nodes_[n].held.count(file) > 0;
  }
  // A live node's roles and rows are in another process: drivers that sample
  // them report nothing for those figures (docs/testbed.md).
  const role* role_of(std::uint32_t, const std::string&) const override { return nullptr; }
  // A node's rows: its node.db, opened once the run has ended (reports read
  // rows only then); before that, or if it cannot be opened, none.
  const kv_store& store_of(std::uint32_t n) const override {
    if (!w_.ended_)
      return empty_;
    auto& slot = stores_[n];
    if (!slot) {
      try {
        slot = std::make_unique<net::sqlite_store>(w_.nodes_[n].dir / "data" / "node.db");
      } catch (const std::exception&) {
        return empty_;
      }
    }
    return *slot;
  }
  std::string peer_arg(std::uint32_t n) const override { return std::to_string(w_.nodes_[n].id); }
  std::optional<std::uint32_t> node_of_peer(const std::string& text) const override {
    std::uint64_t v = 0;
    if (text.empty() || text.size() > 20)
      return std::nullopt;
    for (char ch : text) {
      if (ch < '0' || ch > '9')
        return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    auto it = w_.by_peer_.find(v);
    if (it == w_.by_peer_.end())
      return std::nullopt;
    return it->second;
  }

private:
  live_world& w_;
  std::uint32_t index_;
  memory_store empty_;
  mutable std::map<std::uint32_t, std::unique_ptr<kv_store>> stores_;
};

live_world::live_world(const sim::scenario& s, options o)
    : spec_(s), opt_(std::move(o)), seed_(opt_.seed.value_or(s.seed)),
      workload_rng_(sim::stream_seed(seed_, sim::seed_stream::workload)),
      churn_rng_(sim::stream_seed(seed_, sim::seed_stream::churn)), stats_(s.groups.size(), seed_) {
  auto t0 = steady_us();
  if (opt_.time_scale <= 0)
    throw std::runtime_error("testbed: the time scale must be positive");
  for (std::uint32_t g = 0; g < spec_.groups.size(); ++g) {
    group_first_.push_back(static_cast<std::uint32_t>(node_group_.size()));
    for (std::uint64_t i = 0; i < spec_.groups[g].count; ++i)
      node_group_.push_back(g);
  }
  group_first_.push_back(static_cast<std::uint32_t>(node_group_.size()));
  if (node_group_.size() > 1000)
    throw std::runtime_error("testbed: at most 1000 nodes (this scenario has " +
                             std::to_string(node_group_.size()) + ")");
  nodes_.resize(node_group_.size());
  dir_ = opt_.work_dir;
  if (dir_.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "peerlab-testbed.XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error("testbed: cannot create a work folder under " +
                               fs::temp_directory_path().string());
    dir_ = tmpl;
  } else {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_empty(dir_))
      throw std::runtime_error("testbed: " + dir_.string() + ": must be a new or empty folder");
  }
  made_dir_ = true;
  if (opt_.network != "loopback") {
    std::string why;
    if (enter_private_network(bridge_name, why))
      network_ = "netns";
    else if (opt_.network == "netns")
      throw std::runtime_error("testbed: --network netns: " + why);
    else
      network_note_ = why;
  }
  sim::place_files(spec_, seed_, group_first_, catalog_);
  plan();
  setup_s_ = static_cast<double>(steady_us() - t0) / 1e6;
}

live_world::~live_world() {
  auto t0 = steady_us();
  stop_all();
  nodes_.clear(); // joins the readers
  if (made_dir_ && !opt_.keep) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  teardown_s_ += static_cast<double>(steady_us() - t0) / 1e6;
}

const char* live_world::intern(const std::string& s) { return names_.insert(s).first->c_str(); }

// Keys, ports, files and configs of every node.
void live_world::plan() {
  std::vector<std::uint16_t> ports;
  if (network_ == "loopback")
    ports = reserve_ports(nodes_.size());
  for (std::uint32_t n = 0; n < nodes_.size(); ++n) {
    auto& nd = nodes_[n];
    nd.dir = dir_ / ("n" + std::to_string(n));
    fs::create_directories(nd.dir / "data");
    nd.id = net::node_identity::load_or_create(nd.dir / "data" / "node.key")->id();
    nd.address = network_ == "netns" ? node_ip(n) + ":" + std::to_string(netns_port)
                                     : "127.0.0.1:" + std::to_string(ports[n]);
    if (!by_peer_.emplace(nd.id, n).second)
      throw std::runtime_error("testbed: two nodes drew the same peer id");
  }
  write_files();
  // The scenario as parsed, for the nodes' shaping (the same network section).
  std::ofstream(dir_ / "scenario.json") << spec_.source_text;
  churn_of_group_.assign(spec_.groups.size(), -1);
  for (std::size_t i = 0; i < spec_.churn.size(); ++i)
    for (std::uint32_t g = 0; g < spec_.groups.size(); ++g)
      if (spec_.groups[g].name == spec_.churn[i].group)
        churn_of_group_[g] = static_cast<std::int32_t>(i);
}

// The scenario's synthetic files as real files, once each, with the bytes
// the simulator serves.
void live_world::write_files() {
  if (catalog_.size() == 0)
    return;
  fs::create_directories(dir_ / "files");
  bytes chunk;
  for (std::uint32_t f = 0; f < catalog_.size(); ++f) {
    auto& file = catalog_.at(f);
    std::ofstream out(dir_ / "files" / file.name, std::ios::binary);
    for (std::uint64_t off = 0; off < file.size; off += 1 << 20) {
      auto len = static_cast<std::size_t>(std::min<std::uint64_t>(1 << 20, file.size - off));
      sim::file_catalog::generate(file.seed, off, len, chunk);
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(len));
    }
    if (!out)
      throw std::runtime_error("testbed: cannot write " + (dir_ / "files" / file.name).string());
    for (auto h : file.holders)
      nodes_[h].held.insert(f);
  }
}

// Role parameters that name another node (by its index in the scenario, which
// is its peer id in the simulator) name its live peer id instead.
static json live_roles(const json& roles, const std::vector<peer_id>& ids) {
  static const char* node_fields[] = {"ledger", "impersonate", "server", "origin"};
  json out = roles;
  auto id_of = [&](const json& v) -> json {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() < ids.size())
      return ids[v.get<std::uint64_t>()];
    return v; // out of range: the node's own validation names it
  };
  for (auto& r : out) {
    if (!r.is_object())
      continue;
    for (auto* f : node_fields)
      if (r.contains(f))
        r[f] = id_of(r[f]);
    if (r.value("role", "") == "droplog" && r.contains("peers") && r["peers"].is_array())
      for (auto& p : r["peers"])
        p = id_of(p);
  }
  return out;
}

void live_world::write_config(std::uint32_t n) {
  auto& nd = nodes_[n];
  auto& g = spec_.groups[node_group_[n]];
  json c;
  c["name"] = g.name + "-" + std::to_string(n - group_first_[node_group_[n]]);
  c["listen"] = nd.address;
  c["data_dir"] = "data";
  std::vector<peer_id> ids;
  for (auto& m : nodes_)
    ids.push_back(m.id);
  c["roles"] = live_roles(g.roles, ids);
  if (!g.adversary.empty())
    c["adversary"] = g.adversary;
  c["seed"] = sim::node_seed(seed_, n, 1);
  c["control"] = "stdin";
  json provide = json::array();
  for (auto f : nd.held) {
    auto& file = catalog_.at(f);
    provide.push_back({{"path", (dir_ / "files" / file.name).string()},
                       {"name", file.name},
                       {"price", file.price}});
  }
  if (!provide.empty())
    c["provide"] = provide;
  json book = json::object();
  for (std::uint32_t m = 0; m < nodes_.size(); ++m)
    if (m != n)
      book[std::to_string(nodes_[m].id)] = nodes_[m].address;
  c["address_book"] = book;
  // The scenario's network on this node's outgoing frames (docs/live.md,
  // "Shaping live traffic"), on the testbed's clock.
  json peers = json::array();
  for (auto& m : nodes_)
    peers.push_back(std::to_string(m.id));
  c["shaping"] = {{"scenario", (dir_ / "scenario.json").string()},
                  {"seed", seed_},
                  {"node", n},
                  {"peers", peers},
                  {"start_unix_us", start_unix_us_},
                  {"time_scale", opt_.time_scale}};
  nd.config = nd.dir / "node.json";
  std::ofstream(nd.config) << c.dump(1) << "\n";
}

void live_world::push(time_us t, int kind, std::uint32_t n, std::uint64_t a, std::uint64_t b) {
  timers_.push({t, timer_seq_++, kind, n, a, b});
}

time_us live_world::scenario_now() const {
  auto wall = steady_us() - t0_us_;
  return std::max<time_us>(0, static_cast<time_us>(static_cast<double>(wall) / opt_.time_scale));
}

std::uint64_t live_world::issue(std::uint32_t n, const std::string& role, const std::string& verb,
                                const std::vector<std::string>& args) {
  auto& nd = nodes_[n];
  if (!nd.online || !nd.proc)
    return 0;
  auto id = next_command_id_++;
  json list = json::array();
  for (auto& a : args) {
    try {
      list.push_back(a);
      (void)list.back().dump(); // throws if the argument is not UTF-8
    } catch (const json::exception&) {
      list.back() = {
        {"hex", to_hex(byte_view{reinterpret_cast<const std::uint8_t*>(a.data()), a.size()})}};
    }
  }
  json line = {{"id", id}, {"role", role}, {"verb", verb}, {"args", list}};
  if (!nd.proc->send_line(line.dump()))
    return 0;
  return id;
}

void live_world::start_node(std::uint32_t n) {
  auto& nd = nodes_[n];
  if (nd.proc) { // the last incarnation must be gone before its port is reused
    nd.proc->wait();
    nd.proc.reset();
  }
  nd.stopping = false;
  ++nd.launches;
  netns_plan plan{"v" + std::to_string(n) + "i" + std::to_string(nd.launches), bridge_name,
                  node_ip(n) + "/16"};
  nd.proc = std::make_unique<node_process>(n, opt_.exe, nd.config.string(),
                                           (nd.dir / "stderr.log").string(), inbox_,
                                           network_ == "netns" ? &plan : nullptr);
}

void live_world::stop_node(std::uint32_t n, bool crash) {
  auto& nd = nodes_[n];
  if (!nd.proc || nd.stopping)
    return;
  nd.stopping = true;
  // SIGKILL for a crash; SIGTERM for a leave: the node stops gracefully and
  // its roles' goodbyes go out.
  nd.proc->signal(crash ? SIGKILL : SIGTERM);
  if (nd.online) {
    nd.online = false;
    if (crash)
      ++stats_.crashes;
    else
      ++stats_.leaves;
    for (auto& d : drivers_)
      d.d->on_node_down(*d.api, n, crash);
  }
}

void live_world::on_exit(std::uint32_t n) {
  auto& nd = nodes_[n];
  if (nd.proc)
    nd.proc->wait();
  // Exit 2 (bad config) or 3 (cannot bind) is the testbed's failure, not churn.
  if (nd.proc && !nd.stopping && WIFEXITED(nd.proc->status()) &&
      (WEXITSTATUS(nd.proc->status()) == 2 || WEXITSTATUS(nd.proc->status()) == 3)) {
    std::string last, before; // the error and the usage hint after it
    std::ifstream log(nd.dir / "stderr.log");
    for (std::string l; std::getline(log, l);)
      before = std::exchange(last, l);
    if (last.find("--help") != std::string::npos)
      last = before;
    throw std::runtime_error("node " + std::to_string(n) + " could not start (exit " +
                             std::to_string(WEXITSTATUS(nd.proc->status())) + "): " + last);
  }
  if (nd.online && !nd.stopping) { // it died by itself: a crash nobody asked for
    nd.online = false;
    ++stats_.crashes;
    if (opt_.progress)
      std::fprintf(stderr, "testbed: node %u exited by itself (see %s)\n", n,
                   (nd.dir / "stderr.log").c_str());
    for (auto& d : drivers_)
      d.d->on_node_down(*d.api, n, true);
  }
}

void live_world::on_line(std::uint32_t n, const std::string& line) {
  if (opt_.keep) { // the node's own output, kept with its folder
    auto& nd = nodes_[n];
    if (!nd.stdout_log)
      nd.stdout_log = std::make_unique<std::ofstream>(nd.dir / "stdout.log", std::ios::app);
    *nd.stdout_log << line << '\n';
  }
  auto j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_string())
    return;
  auto kind = j["event"].get<std::string>();
  auto& nd = nodes_[n];
  if (kind == "listening") {
    if (nd.stopping || nd.online)
      return;
    nd.online = true;
    if (nd.incarnation == 0 && ++first_up_ == nodes_.size())
      all_up_s_ = static_cast<double>(steady_us() - t0_us_) / 1e6;
    ++nd.incarnation;
    ++stats_.node_starts;
    for (auto& d : drivers_)
      d.d->on_node_up(*d.api, n);
    if (auto c = churn_of_group_[node_group_[n]]; c >= 0) {
      auto& cs = spec_.churn[static_cast<std::size_t>(c)];
      push(later(scenario_now(), delay_us(cs.session.sample(churn_rng_))), churn_leave, n,
           nd.incarnation);
    }
  } else if (kind == "stopped") {
    if (j.contains("counters") && j["counters"].is_object())
      for (auto& [name, v] : j["counters"].items())
        if (v.is_number())
          add_counter(n, name, v.get<double>());
  } else if (j.contains("role") && j.contains("command_id")) {
    on_role_event(n, j);
  }
}

// A node's counter at its stop. Role metrics add up per group as in the
// simulator; the transport's become the run's network counters. A node
// killed by churn never reports: its share is missing (docs/testbed.md).
void live_world::add_counter(std::uint32_t n, const std::string& name, double v) {
  auto u = static_cast<std::uint64_t>(v < 0 ? 0 : v);
  auto& net = stats_.net;
  if (name == "net.frames_out")
    net.sent += u;
  else if (name == "net.bytes_out")
    net.sent_bytes += u;
  else if (name == "net.frames_in")
    net.delivered += u;
  else if (name == "net.bytes_in")
    net.delivered_bytes += u;
  else if (name == "net.frames_dropped_unknown_port" || name == "net.frames_dropped_empty")
    net.rejected_routing += u;
  else if (name == "net.shaped_dropped")
    net.lost += u;
  else if (name == "net.shaped_partitioned")
    net.lost_partition += u;
  else if (name == "net.shaped_truncated")
    net.truncated += u;
  else if (name == "net.shaped_corrupted")
    net.corrupted += u;
  else if (name == "net.shaped_duplicated")
    net.duplicated += u;
  else if (name == "net.shaped_reordered")
    net.reordered += u;
  if (name.rfind("net.", 0) == 0 || name.rfind("ws.", 0) == 0)
    return;
  stats_.metric(node_group_[n], {intern(name), v, true});
}

void live_world::on_role_event(std::uint32_t n, const json& j) {
  event e;
  e.kind = j["event"].get<std::string>();
  if (j["command_id"].is_number_unsigned())
    e.command_id = j["command_id"].get<std::uint64_t>();
  if (j.contains("fields") && j["fields"].is_object())
    for (auto& [k, v] : j["fields"].items())
      e.fields.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  if (j.contains("values") && j["values"].is_object())
    for (auto& [k, v] : j["values"].items())
      if (v.is_number())
        e.values.emplace_back(k, v.get<double>());
  ++events_;
  auto now = scenario_now();
  // A committed download is re-hashed here, from the node's disk, as the
  // simulator re-hashes its sinks: a corrupt file a node accepted is seen.
  if (e.kind == "download_done") {
    auto* hash = e.field("hash");
    auto* name = e.field("name");
    if (hash && name) {
      auto want = digest_from_hex(*hash);
      auto got = hash_file(nodes_[n].dir / "data" / "downloads" / fs::path(*name).filename());
      if (want) {
        bool intact = got && *got == *want;
        if (intact)
          if (auto f = catalog_.find(*want))
            nodes_[n].held.insert(*f);
        for (auto& d : drivers_)
          d.d->on_commit(*d.api, n, *want, intact);
      }
    }
  }
  for (auto& d : drivers_)
    d.d->on_event(*d.api, n, e);
  if (spec_.record_events) {
    if (recorded_.size() < recorded_events_max) {
      json detail = {{"fields", j.value("fields", json::object())},
                     {"values", j.value("values", json::object())}};
      recorded_.push_back({now, n, e.kind, detail.dump()});
    } else {
      events_truncated_ = true;
    }
  }
}

void live_world::fire(const timer& t) {
  switch (t.kind) {
  case node_start:
    start_node(t.node);
    break;
  case driver_tick:
    if (!ended_)
      drivers_[t.a].d->tick(*drivers_[t.a].api, t.node, t.b);
    break;
  case scenario_command: {
    auto& c = spec_.commands[t.a];
    if (!issue(t.node, c.role, c.verb, c.args))
      ++stats_.commands_skipped_offline;
    break;
  }
  case churn_leave: {
    auto& nd = nodes_[t.node];
    if (!nd.online || nd.incarnation != t.a || ended_)
      break;
    auto& cs = spec_.churn[static_cast<std::size_t>(churn_of_group_[node_group_[t.node]])];
    bool crash = churn_rng_.chance(cs.crash);
    stop_node(t.node, crash);
    if (cs.restart)
      push(later(scenario_now(), delay_us(cs.downtime.sample(churn_rng_))), churn_return, t.node);
    break;
  }
  case churn_return:
    if (!ended_)
      start_node(t.node);
    break;
  case run_end:
    ended_ = true;
    break;
  }
}

void live_world::run() {
  // Drivers first (they schedule their first ticks), as in the simulator.
  for (auto& [name, kind] : sim::driver_kinds()) {
    if (!kind.make_once)
      continue;
    bool used = false;
    for (auto& item : spec_.driver_items)
      used = used || item.kind == name;
    for (auto& c : spec_.checkers)
      for (auto& owned : kind.checkers)
        used = used || c.check == owned;
    if (used)
      drivers_.push_back(
        {kind.make_once(spec_),
         std::make_unique<api>(*this, static_cast<std::uint32_t>(drivers_.size()))});
  }
  for (auto& item : spec_.driver_items)
    if (auto& kind = sim::driver_kinds().at(item.kind); !kind.make_once)
      drivers_.push_back(
        {kind.make(item.item, spec_),
         std::make_unique<api>(*this, static_cast<std::uint32_t>(drivers_.size()))});

  auto placement = sim::stream_rng(seed_, sim::seed_stream::placement);
  for (std::uint32_t n = 0; n < nodes_.size(); ++n) {
    auto& g = spec_.groups[node_group_[n]];
    time_us t = g.start;
    if (g.start_spread > 0)
      t =
        later(t, static_cast<time_us>(placement.below(static_cast<std::uint64_t>(g.start_spread))));
    push(t, node_start, n);
  }
  for (std::uint64_t i = 0; i < spec_.commands.size(); ++i) {
    auto& c = spec_.commands[i];
    auto g = static_cast<std::uint32_t>(spec_.find_group(c.group) - spec_.groups.data());
    for (auto n = group_first_[g]; n < group_first_[g + 1]; ++n)
      push(c.at, scenario_command, n, i);
  }
  push(spec_.duration, run_end, 0);
  t0_us_ = steady_us();
  start_unix_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  for (std::uint32_t n = 0; n < nodes_.size(); ++n)
    write_config(n);
  for (auto& d : drivers_)
    d.d->start(*d.api);

  std::int64_t last_progress = 0;
  while (!ended_ && !interrupted_) {
    auto now = scenario_now();
    while (!timers_.empty() && timers_.top().t <= now && !ended_) {
      auto t = timers_.top();
      timers_.pop();
      fire(t);
    }
    if (ended_)
      break;
    std::int64_t wait_us = 1'000'000;
    if (!timers_.empty())
      wait_us = std::min<std::int64_t>(
        wait_us,
        static_cast<std::int64_t>(static_cast<double>(timers_.top().t - now) * opt_.time_scale) +
          1);
    for (auto& e : inbox_.wait_for(wait_us)) {
      if (e.closed)
        on_exit(e.node);
      else
        on_line(e.node, e.line);
    }
    reached_ = std::min(scenario_now(), spec_.duration);
    if (opt_.progress && steady_us() - last_progress > 1'000'000) {
      last_progress = steady_us();
      std::size_t up = 0;
      for (auto& nd : nodes_)
        up += nd.online;
      std::fprintf(stderr, "\rtestbed: %5.1f/%.1f s scenario time, %zu/%zu nodes up, %llu events ",
                   static_cast<double>(reached_) / 1e6, static_cast<double>(spec_.duration) / 1e6,
                   up, nodes_.size(), static_cast<unsigned long long>(events_));
    }
  }
  if (opt_.progress)
    std::fprintf(stderr, "\n");
  reached_ = interrupted_ ? std::min(scenario_now(), spec_.duration) : spec_.duration;
  auto t0 = steady_us();
  stop_all();
  teardown_s_ = static_cast<double>(steady_us() - t0) / 1e6;
  collect_rows();
}

// Every node's table rows (its node.db, written by net/sqlite_tables), read
// after it stopped, into the results file's node_rows table. Bounded.
void live_world::collect_rows() {
  for (std::uint32_t n = 0; n < nodes_.size(); ++n) {
    sqlite3* db = nullptr;
    auto path = (nodes_[n].dir / "data" / "node.db").string();
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      continue;
    }
    std::vector<std::string> tables;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
                           "'sqlite_%' ORDER BY name",
                           -1, &st, nullptr) == SQLITE_OK)
      while (sqlite3_step(st) == SQLITE_ROW)
        tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    for (auto& t : tables) {
      std::string sql = "SELECT * FROM \"" + t + "\"";
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        continue;
      while (sqlite3_step(st) == SQLITE_ROW && node_rows_.size() < node_rows_max) {
        json row = json::object();
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
          std::string col = sqlite3_column_name(st, c);
          switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            row[col] = sqlite3_column_int64(st, c);
            break;
          case SQLITE_FLOAT:
            row[col] = sqlite3_column_double(st, c);
            break;
          case SQLITE_TEXT:
            row[col] = std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                   static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
            break;
          case SQLITE_BLOB: {
            auto* b = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, c));
            row[col] = to_hex(byte_view{b, static_cast<std::size_t>(sqlite3_column_bytes(st, c))});
            break;
          }
          default:
            row[col] = nullptr;
          }
        }
        node_rows_.push_back({n, t, row.dump(-1, ' ', false, json::error_handler_t::replace)});
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
  }
}

void live_world::interrupt() {
  interrupted_ = true;
  inbox_.notify();
}

// Every node stops gracefully (end of its control channel), reports its
// counters, and is killed if it has not exited within the grace period.
void live_world::stop_all() {
  ended_ = true;
  for (auto& nd : nodes_) {
    // The end of the run, not churn: drivers are not told, and checkers see
    // who was online at the end, as in the simulator.
    nd.stopping = true;
    if (nd.proc && !nd.proc->exited())
      nd.proc->close_control();
  }
  auto deadline = steady_us() + stop_grace_us;
  auto running = [&] {
    std::size_t k = 0;
    for (auto& nd : nodes_)
      k += nd.proc && !nd.proc->exited();
    return k;
  };
  while (running() > 0 && steady_us() < deadline) {
    for (auto& e : inbox_.wait_for(100'000)) {
      if (e.closed)
        on_exit(e.node);
      else
        on_line(e.node, e.line);
    }
    for (auto& nd : nodes_)
      if (nd.proc)
        nd.proc->reap();
  }
  for (auto& nd : nodes_)
    if (nd.proc && !nd.proc->exited()) {
      nd.proc->signal(SIGKILL);
      nd.proc->wait();
    }
  for (auto& e : inbox_.wait_for(0))
    if (!e.closed)
      on_line(e.node, e.line);
}

recorded_run record_run(const live_world& w, double wall_seconds, sim::results_db& db,
                        const std::string& commit) {
  recorded_run r;
  r.summary = sim::summarize(w, wall_seconds);
  r.summary["testbed"] = {{"network", w.network()},
                          {"setup_seconds", w.setup_seconds()},
                          {"all_up_seconds", w.all_up_seconds()},
                          {"stop_seconds", w.teardown_seconds()},
                          {"time_scale", w.time_scale()}};
  r.verdicts = sim::evaluate_checkers(w);
  for (auto& v : r.verdicts)
    r.passed = r.passed && v.passed;
  db.append(w, {commit, wall_seconds, r.summary, r.verdicts});
  return r;
}

} // namespace peerlab::app::testbed
