#include "protocols/registry.hpp"
#include "net/live_runtime.hpp"
#include "net/log_budget.hpp"

#include "actors/role_actor.hpp"
#include "net/address.hpp"
#include "net/connection.hpp"
#include "net/net_limits.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/droplog/droplog.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include <array>
#include <atomic>
#include <csignal>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

namespace peerlab::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using plain_connection = stream_connection<tcp::socket>;
using tls_connection = stream_connection<tls_socket>;

namespace {
bool power_of_two(std::uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }
} // namespace

class live_runtime::impl final : public connection_owner {
public:
  impl(live_runtime& rt, live_options o) : rt_(rt), opts_(std::move(o)) {}

  // -- shared by all threads ------------------------------------------------

  void log(const std::string& line) {
    if (opts_.on_log) {
      opts_.on_log(line);
      return;
    }
    std::lock_guard lock(log_mu_);
    std::fprintf(stderr, "[%s] %s\n", opts_.name.c_str(), line.c_str());
  }

  /// A line that any peer can cause by connecting: within the node's budget.
  void log_peer_caused(const std::string& line) {
    auto v = peer_log_.take();
    if (v.suppressed_before > 0) {
      count("net.log_lines_suppressed", static_cast<double>(v.suppressed_before));
      log(std::to_string(v.suppressed_before) +
          " lines about accepted connections were not logged (over the budget per 10 s)");
    }
    if (v.allowed)
      log(line);
  }

  void count(const std::string& name, double delta = 1) {
    std::lock_guard lock(counters_mu_);
    counters_[name] += delta;
  }

  // -- start and stop (caller's thread) -------------------------------------

  void start() {
    // Every role's tables exist (and older files are migrated) before a role
    // runs; a conflicting file stops the node with the table's name.
    for (auto& r : opts_.roles)
      for (auto* t : r->tables())
        opts_.store->declare(*t);
    std::string err;
    auto addr = parse_address(opts_.listen, err);
    if (!addr)
      throw std::runtime_error("listen address \"" + opts_.listen + "\": " + err);
    try {
      tcp::endpoint ep(asio::ip::make_address(addr->host), addr->port);
      acceptor_.open(ep.protocol());
      acceptor_.set_option(tcp::acceptor::reuse_address(true));
      acceptor_.bind(ep);
      acceptor_.listen();
      auto local = acceptor_.local_endpoint();
      rt_.bound_ = to_string(address{local.address().to_string(), local.port()});
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + opts_.listen + ": " + e.code().message());
    }
    mine_ = hello{rt_.id_, rt_.bound_};
    // Before any role runs: a folder that cannot be made stops the start here.
    if (opts_.drop_folders) { // packet files for the droplog role, not TCP frames
      drop_ = std::make_unique<drop_transport>(
        io_, *opts_.drop_folders, rt_.id_,
        [this](peer_id from, bytes frame) {
          frames_in_.fetch_add(1, std::memory_order_relaxed);
          bytes_in_.fetch_add(frame.size(), std::memory_order_relaxed);
          deliver(from, std::move(frame));
        },
        [this](const std::string& m) { log(m); },
        [this](const std::string& name, double d) { count(name, d); });
      log("packet files: writing below " + opts_.drop_folders->out_dir.string() + ", reading " +
          drop_->incoming_dir());
    }
    if (opts_.identity) {
      tls_.emplace(asio::ssl::context::tls);
      opts_.identity->configure(tls_->native_handle());
    }
    for (auto& p : opts_.peers)
      configured_.push_back(configured_peer{p, live_limits::peer_retry_min, false, false,
                                            std::make_shared<asio::steady_timer>(io_)});

    cfg_ = std::make_unique<caf::actor_system_config>();
    cfg_->set("scheduler.policy", caf::atom("sharing"));
    cfg_->set("scheduler.max-threads", std::size_t{1}); // one node's roles never race
    sys_ = std::make_unique<caf::actor_system>(*cfg_);
    for (auto& r : opts_.roles) {
      auto a = sys_->spawn(role_actor, static_cast<runtime*>(&rt_), rt_.id_, r);
      by_port_[r->port()] = a;
      actors_.push_back(a);
    }
    for (auto& a : actors_)
      caf::anon_send(a, start_atom::value);

    log("listening on " + rt_.bound_ + " as peer " + std::to_string(rt_.id_));
    running_ = true; // before the io thread starts: it reads this
    work_.emplace(io_.get_executor());
    io_thread_ = std::thread([this] { run_io(); });
    asio::post(io_, [this] {
      if (drop_)
        drop_->start();
      do_accept();
      for (std::size_t i = 0; i < configured_.size(); ++i)
        dial(configured_[i].address);
    });
  }

  void stop() {
    if (!running_)
      return;
    running_ = false;
    auto deadline =
      std::chrono::steady_clock::now() + std::chrono::microseconds(live_limits::shutdown_grace);
    {
      caf::scoped_actor self{*sys_};
      std::size_t left = actors_.size();
      auto await_down = [&](std::chrono::steady_clock::time_point until) {
        bool late = false;
        while (left > 0 && !late) {
          auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
          self->receive([&](caf::down_msg&) { --left; },
                        caf::after(std::max(wait, std::chrono::milliseconds(0))) >>
                          [&] { late = true; });
        }
      };
      // 1. The roles' stop: they may send goodbyes, then quit.
      for (auto& a : actors_) {
        self->monitor(a);
        caf::anon_send(a, leave_atom::value);
      }
      await_down(deadline);
      // 2. A short grace for the outbound queues (goodbyes, last chunks).
      while (std::chrono::steady_clock::now() < deadline && outbound_bytes() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      // 3. Stop the io thread: nothing reaches the actors any more. Pending
      // role timers would keep run() busy, so it is stopped once sockets close.
      asio::post(io_, [this] {
        close_everything();
        io_.stop();
      });
      work_.reset();
      io_thread_.join();
      // 4. Exit the actors that did not quit by themselves, and wait for them:
      // they read by_port_ and this object until they are gone.
      if (left > 0) {
        log(std::to_string(left) + " role(s) did not stop within the grace period: exiting them");
        for (auto& a : actors_)
          caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
        await_down(std::chrono::steady_clock::now() + std::chrono::seconds(10));
      }
    }
    // 5. Destroy the system (no handle may outlive it). Local endpoints
    // reach by_port_ only through the local table: closed first.
    {
      std::lock_guard lock(local_mu_);
      local_closed_ = true;
      local_.clear();
    }
    by_port_ = {};
    actors_.clear();
    sys_.reset();
    cfg_.reset();
    // 6. The connection tables go with this object, after the system.
  }

  // -- called from actor threads ----------------------------------------------

  void post_frame(peer_id to, bytes&& frame) {
    frames_out_.fetch_add(1, std::memory_order_relaxed);
    bytes_out_.fetch_add(frame.size(), std::memory_order_relaxed);
    // Neither a local peer (in this process) nor a packet file crosses a TCP
    // connection: the frame bound does not apply to them.
    if (local_peers::contains(to)) { // a browser or an upstream client of a local endpoint
      std::lock_guard lock(local_mu_);
      auto it = local_.find(to);
      if (it == local_.end()) {
        count("net.local_frames_unroutable");
        return;
      }
      it->second.sink(std::move(frame)); // under the lock: none after close_local_peer
      return;
    }
    if (drop_ && !frame.empty() && frame[0] == ports::droplog && to != rt_.id_) {
      drop_->send(to, std::move(frame));
      return;
    }
    if (frame.size() > peerlab::limits::frame_bytes_max) {
      count("net.frames_dropped_oversize");
      log("dropped an outgoing frame of " + std::to_string(frame.size()) +
          " bytes: larger than the frame bound of " +
          std::to_string(peerlab::limits::frame_bytes_max));
      return;
    }
    if (to == rt_.id_) { // to ourselves: no socket needed
      deliver(to, std::move(frame));
      return;
    }
    asio::post(io_, [this, to, f = std::move(frame)]() mutable { route_out(to, std::move(f)); });
  }

  void arm_timer(port_t port, time_us delay, std::uint64_t token) {
    if (!by_port_[port])
      return;
    if (pending_timers_.load(std::memory_order_relaxed) >= live_limits::pending_timers_max) {
      count("net.timers_dropped");
      log("dropped a timer of port " + std::string(port_name(port)) + ": " +
          std::to_string(live_limits::pending_timers_max) + " timers already pending");
      return;
    }
    pending_timers_.fetch_add(1, std::memory_order_relaxed);
    // Distinct I/O objects may be used from any thread; the handler runs on the io thread.
    auto t = std::make_shared<asio::steady_timer>(
      io_, std::chrono::microseconds(std::max<time_us>(delay, 0)));
    t->async_wait([this, t, port, token](const boost::system::error_code& ec) {
      pending_timers_.fetch_sub(1, std::memory_order_relaxed);
      if (!ec)
        caf::anon_send(by_port_[port], timer_atom::value, token);
    });
  }

  void learn(peer_id peer, const std::string& addr) {
    asio::post(io_, [this, peer, addr] { remember(peer, addr); });
  }

  bool command(port_t port, const peerlab::command& cmd) {
    if (!running_ || !by_port_[port])
      return false;
    caf::anon_send(by_port_[port], command_atom::value, cmd);
    return true;
  }

  peer_id open_local(port_t port, const std::string& addr, local_sink sink) {
    peer_id id = 0;
    {
      std::lock_guard lock(local_mu_);
      if (!running_ || local_closed_ || !by_port_[port] || local_.size() >= local_peers::open_max) {
        count("net.local_peers_refused");
        return 0;
      }
      do // the counter wraps after 2^32 peers: skip ids still open
        id = local_peers::tag | ++local_next_;
      while (local_.contains(id) || id == local_peers::tag);
      local_[id] = local_peer{port, std::move(sink)};
      // In the lock: stop() clears by_port_ only after closing this table.
      caf::anon_send(by_port_[port], peer_atom::value, id, addr);
    }
    count("net.local_peers_opened");
    return id;
  }

  void local_in(peer_id from, bytes&& frame) {
    std::lock_guard lock(local_mu_);
    auto it = local_.find(from);
    if (it == local_.end() || frame.empty() || frame[0] != it->second.port) {
      count("net.local_frames_dropped");
      return;
    }
    frames_in_.fetch_add(1, std::memory_order_relaxed);
    bytes_in_.fetch_add(frame.size(), std::memory_order_relaxed);
    caf::anon_send(by_port_[it->second.port], frame_atom::value, from, std::move(frame));
  }

  void close_local(peer_id id) {
    std::lock_guard lock(local_mu_);
    local_.erase(id);
  }

  const role* role_on(port_t port) const {
    for (auto& r : opts_.roles)
      if (r->port() == port)
        return r.get();
    return nullptr;
  }

  void metric(const effects::metric_sample& m) {
    std::lock_guard lock(counters_mu_);
    if (m.is_counter)
      counters_[m.name] += m.value;
    else
      counters_[m.name] = m.value;
  }

  void emit(port_t port, event&& e) {
    if (drop_ && port == ports::droplog && e.kind == "droplog_deletable") {
      if (auto* files = e.field("files")) // the role's housekeeping: for the transport only
        drop_->remove(*files);
      return;
    }
    if (auto to = issuer_port(e.command_id); to != 0 && running_ && by_port_[to])
      caf::anon_send(by_port_[to], reply_atom::value, port, e); // to the role that asked
    if (opts_.on_event)
      opts_.on_event(port, e);
  }

  std::map<std::string, double> counters() const {
    std::lock_guard lock(counters_mu_);
    auto out = counters_;
    out["net.frames_out"] = static_cast<double>(frames_out_.load());
    out["net.bytes_out"] = static_cast<double>(bytes_out_.load());
    out["net.frames_in"] = static_cast<double>(frames_in_.load());
    out["net.bytes_in"] = static_cast<double>(bytes_in_.load());
    return out;
  }

  live_options& options() { return opts_; }

  std::size_t outbound_bytes() {
    std::promise<std::size_t> p;
    auto f = p.get_future();
    asio::post(io_, [this, &p] {
      std::size_t q = pending_total_ + held_total_;
      for (auto& [_, c] : conns_)
        q += c->queued_bytes();
      p.set_value(q);
    });
    return f.get();
  }

  time_us now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 t0_)
      .count();
  }

private:
  struct configured_peer {
    std::string address;
    time_us backoff;
    bool connected;
    bool is_self;
    std::shared_ptr<asio::steady_timer> retry;
  };
  struct pending_frames {
    std::deque<bytes> frames;
    std::size_t size = 0;
  };

  void run_io() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log(std::string("io thread: unexpected error: ") + e.what());
      }
    }
  }

  // -- io thread ---------------------------------------------------------------

  void deliver(peer_id from, bytes&& frame) {
    if (frame.empty()) {
      count("net.frames_dropped_empty");
      return;
    }
    auto& a = by_port_[frame[0]];
    if (!a) {
      auto n = ++unknown_port_drops_;
      count("net.frames_dropped_unknown_port");
      if (power_of_two(n))
        log("dropped a frame for port " + std::to_string(frame[0]) + " from peer " +
            std::to_string(from) + ": no role on that port (" + std::to_string(n) + " so far)");
      return;
    }
    caf::anon_send(a, frame_atom::value, from, std::move(frame));
  }

  void do_accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (stopping_)
        return;
      if (ec) {
        // Out of descriptors (EMFILE/ENFILE) the next accept fails at once:
        // wait instead of spinning, and log the first of each run of failures.
        if (power_of_two(++accept_failures_))
          log("accept failed: " + ec.message() + " (" + std::to_string(accept_failures_) +
              " so far); retrying in " + std::to_string(live_limits::accept_backoff / us_per_ms) +
              " ms");
        count("net.accept_failures");
        accept_retry_.expires_after(std::chrono::microseconds(live_limits::accept_backoff));
        accept_retry_.async_wait([this](const boost::system::error_code& e) {
          if (!e && !stopping_)
            do_accept();
        });
        return;
      }
      boost::system::error_code rec;
      auto ip = s.remote_endpoint(rec).address().to_string();
      if (auto why = make_room(ip)) {
        count("net.connections_refused");
        if (power_of_two(++refused_))
          log("refused a connection from " + ip + ": " + *why + " (" + std::to_string(refused_) +
              " so far)");
      } else {
        auto c = add_connection(std::move(s), false, {});
        c->start(mine_);
      }
      do_accept();
    });
  }

  // Frees a slot for a new connection from `ip` if the bounds are reached:
  // the connection (of that address, when its own bound is the one reached)
  // idle longest goes, if it has been idle long enough. Returns why the new
  // connection cannot be taken, or nothing.
  std::optional<std::string> make_room(const std::string& ip) {
    auto& b = opts_.bounds;
    std::size_t from_ip = 0;
    for (auto& [_, c] : conns_)
      from_ip += c->remote_ip == ip;
    const bool ip_full = from_ip >= b.per_ip_max;
    if (conns_.size() < b.connections_max && !ip_full)
      return std::nullopt;
    connection_base* oldest = nullptr;
    for (auto& [_, c] : conns_)
      if ((!ip_full || c->remote_ip == ip) && (!oldest || c->last_frame < oldest->last_frame))
        oldest = c.get();
    auto idle = oldest ? std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - oldest->last_frame)
                           .count()
                       : 0;
    std::string bound = ip_full ? std::to_string(b.per_ip_max) + " connections from " + ip
                                : std::to_string(b.connections_max) + " connections";
    if (!oldest || idle < b.idle_evict_after)
      return bound + " already open, none idle";
    count("net.connections_evicted");
    oldest->close("displaced by a new connection: idle " + std::to_string(idle / us_per_ms) +
                  " ms while " + bound + " were open");
    return std::nullopt;
  }

  std::shared_ptr<connection_base> add_connection(tcp::socket s, bool outgoing,
                                                  const std::string& dialed) {
    boost::system::error_code ec;
    s.set_option(tcp::no_delay(true), ec);
    auto remote = s.remote_endpoint(ec);
    connection_timeouts t{opts_.bounds.handshake_timeout, opts_.bounds.idle_timeout};
    std::shared_ptr<connection_base> c;
    if (tls_)
      c = std::make_shared<tls_connection>(tls_socket(std::move(s), tls_->native_handle()), *this,
                                           t, &budget_);
    else
      c = std::make_shared<plain_connection>(std::move(s), *this, t, &budget_);
    c->remote_ip = ec ? std::string() : remote.address().to_string();
    c->outgoing = outgoing;
    c->dialed = dialed;
    c->remote =
      ec ? std::string("?") : to_string(address{remote.address().to_string(), remote.port()});
    c->serial = ++serial_;
    conns_[c->serial] = c;
    return c;
  }

  configured_peer* configured(const std::string& addr) {
    for (auto& p : configured_)
      if (p.address == addr)
        return &p;
    return nullptr;
  }

  void dial(const std::string& addr) {
    if (stopping_ || dialing_.count(addr))
      return;
    std::string err;
    auto a = parse_address(addr, err);
    if (!a) {
      log("cannot dial \"" + addr + "\": " + err);
      return;
    }
    dialing_.insert(addr);
    auto sock = std::make_shared<tcp::socket>(io_);
    tcp::endpoint ep(asio::ip::make_address(a->host), a->port);
    sock->async_connect(ep, [this, sock, addr](const boost::system::error_code& ec) {
      if (stopping_)
        return;
      if (ec) {
        dialing_.erase(addr);
        dial_failed(addr, ec.message());
        return;
      }
      if (conns_.size() >= opts_.bounds.connections_max) {
        dialing_.erase(addr);
        dial_failed(addr, "too many open connections");
        return;
      }
      auto c = add_connection(std::move(*sock), true, addr);
      c->start(mine_);
    });
  }

  void dial_failed(const std::string& addr, const std::string& why) {
    count("net.dial_failures");
    cooloff_[addr] = now() + live_limits::redial_cooloff;
    drop_pending_for(addr, 0, "cannot connect to " + addr + ": " + why);
    if (auto* p = configured(addr); p && !p->is_self) {
      if (p->backoff == live_limits::peer_retry_min || p->backoff >= live_limits::peer_retry_max)
        log("cannot connect to " + addr + " (" + why + "), retrying");
      schedule_redial(*p);
    }
  }

  void schedule_redial(configured_peer& p) {
    p.retry->expires_after(std::chrono::microseconds(p.backoff));
    p.backoff = std::min(p.backoff * 2, live_limits::peer_retry_max);
    auto addr = p.address;
    p.retry->async_wait([this, addr](const boost::system::error_code& ec) {
      if (!ec && !stopping_)
        dial(addr);
    });
  }

  // Frames waiting for a dial to `addr` are dropped unless they are for `keep`.
  void drop_pending_for(const std::string& addr, peer_id keep, const std::string& why) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto k = known_.find(it->first);
      if (it->first != keep && k != known_.end() && k->second == addr) {
        count("net.frames_unreachable", static_cast<double>(it->second.frames.size()));
        log(why + ": dropped " + std::to_string(it->second.frames.size()) + " frame(s) for peer " +
            std::to_string(it->first));
        pending_total_ -= it->second.size;
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // `verified`: we dialed `addr` and the peer there proved it is `peer`. An
  // address only claimed (a hello's listen field, a DHT answer) never displaces
  // a verified one, unless dialing the verified one is failing.
  void remember(peer_id peer, const std::string& addr, bool verified = false) {
    if (peer == rt_.id_ || addr.empty())
      return;
    auto it = known_.find(peer);
    if (it != known_.end()) {
      if (it->second == addr) {
        verified_.erase(peer);
        if (verified)
          verified_.insert(peer);
        return;
      }
      if (!verified && verified_.count(peer) && !cooling(it->second)) {
        count("net.addresses_kept_verified");
        return;
      }
      it->second = addr;
      verified_.erase(peer);
      if (verified)
        verified_.insert(peer);
      return;
    }
    if (known_.size() >= live_limits::known_addresses_max) {
      count("net.addresses_dropped");
      return;
    }
    known_.emplace(peer, addr);
    if (verified)
      verified_.insert(peer);
  }

  // A peer proved who is at `addr`: other ids claimed for it were wrong.
  void forget_others_at(const std::string& addr, peer_id owner) {
    std::erase_if(known_, [&](const auto& k) {
      bool stale = k.first != owner && k.second == addr && !verified_.count(k.first);
      if (stale)
        count("net.addresses_disproved");
      return stale;
    });
  }

  bool cooling(const std::string& addr) const {
    auto c = cooloff_.find(addr);
    return c != cooloff_.end() && c->second > now();
  }

  connection_base* pick(peer_id p) {
    auto it = links_.find(p);
    if (it == links_.end() || it->second.empty())
      return nullptr;
    // Both ends choose the same TCP connection when there are two: the one
    // dialed by the node with the smaller id.
    bool prefer_outgoing = rt_.id_ < p;
    for (auto& c : it->second)
      if (c->outgoing == prefer_outgoing)
        return c.get();
    return it->second.front().get();
  }

  void route_out(peer_id to, bytes&& f) {
    if (opts_.shaper)
      return shape_out(to, std::move(f));
    route_now(to, std::move(f));
  }

  // -- shaping (io thread): the shaper's copies are written when their
  // release time comes; until then they wait in one queue ordered by release
  // time (equal times keep their order, so a FIFO link stays FIFO).

  time_us scenario_now() const { return opts_.scenario_now ? opts_.scenario_now() : now(); }

  void shape_out(peer_id to, bytes&& f) {
    auto t = now();
    shaped_.clear();
    auto o = opts_.shaper->shape(to, t, scenario_now(), std::move(f), shaped_);
    if (o.dropped)
      count("net.shaped_dropped");
    if (o.duplicated)
      count("net.shaped_duplicated");
    if (o.truncated > 0)
      count("net.shaped_truncated", o.truncated);
    if (o.corrupted > 0)
      count("net.shaped_corrupted", o.corrupted);
    if (o.reordered > 0)
      count("net.shaped_reordered", o.reordered);
    for (auto& c : shaped_) {
      if (c.release_at <= t) { // due now: no timer (frames due before it go first)
        release_due(t);
        route_now(to, std::move(c.frame));
      } else {
        hold(to, c.release_at, std::move(c.frame));
      }
    }
  }

  void hold(peer_id to, time_us release, bytes&& f) {
    auto& mine = held_bytes_[to];
    if (mine + f.size() > live_limits::shaped_hold_peer_bytes_max ||
        held_total_ + f.size() > live_limits::shaped_hold_bytes_max) {
      if (mine == 0)
        held_bytes_.erase(to);
      auto n = ++hold_full_drops_;
      count("net.shaped_hold_full");
      if (power_of_two(n))
        log("shaping: dropped a frame of " + std::to_string(f.size()) + " bytes to peer " +
            std::to_string(to) + ": " + std::to_string(mine) + " bytes already held for it, " +
            std::to_string(held_total_) + " for the node (" + std::to_string(n) + " so far)");
      return;
    }
    count("net.shaped_delayed");
    mine += f.size();
    held_total_ += f.size();
    held_.emplace(release, held_frame{to, std::move(f)});
    if (release < hold_armed_at_)
      arm_hold(release);
  }

  void arm_hold(time_us release) {
    hold_armed_at_ = release;
    hold_timer_.expires_at(t0_ + std::chrono::microseconds(release)); // cancels an earlier wait
    hold_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_)
        return; // re-armed (or stopping): another wait is pending
      hold_armed_at_ = std::numeric_limits<time_us>::max();
      release_due(now());
      if (!held_.empty())
        arm_hold(held_.begin()->first);
    });
  }

  // Writes every held copy whose time has come; one on a link a partition
  // cuts now is dropped, as a frame in flight in the simulator.
  void release_due(time_us t) {
    while (!held_.empty() && held_.begin()->first <= t) {
      auto node = held_.extract(held_.begin());
      auto& h = node.mapped();
      auto it = held_bytes_.find(h.to);
      it->second -= h.frame.size();
      if (it->second == 0)
        held_bytes_.erase(it);
      held_total_ -= h.frame.size();
      if (opts_.shaper->cut(h.to, scenario_now())) {
        count("net.shaped_dropped");
        continue;
      }
      route_now(h.to, std::move(h.frame));
    }
  }

  void route_now(peer_id to, bytes&& f) {
    if (auto* c = pick(to)) {
      send_on(*c, std::move(f));
      return;
    }
    auto k = known_.find(to);
    if (k == known_.end()) {
      auto n = ++unroutable_;
      count("net.frames_unroutable");
      if (power_of_two(n))
        log("dropped a frame for peer " + std::to_string(to) + ": no address known (" +
            std::to_string(n) + " so far)");
      return;
    }
    auto cool = cooloff_.find(k->second);
    if (cool != cooloff_.end() && cool->second > now() && !dialing_.count(k->second)) {
      count("net.frames_unreachable");
      return;
    }
    if (pending_total_ + f.size() > peerlab::limits::conn_queue_bytes_max) {
      queue_full(to, f.size());
      return;
    }
    pending_total_ += f.size();
    auto& p = pending_[to];
    p.size += f.size();
    p.frames.push_back(std::move(f));
    dial(k->second);
  }

  // Sends within the node's send budget. When it is spent, connections whose
  // queues have not moved for write_stall are closed first: a peer that asks
  // for much and never reads gives its share back to those that do.
  void send_on(connection_base& c, bytes&& f) {
    auto n = frame_header_bytes + f.size();
    if (!budget_.fits(n))
      shed_stalled();
    if (!budget_.fits(n))
      return queue_full(c.peer, f.size());
    c.send(std::move(f));
  }

  void shed_stalled() {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<connection_base>> stalled;
    for (auto& [_, c] : conns_) {
      auto still = std::chrono::duration_cast<std::chrono::microseconds>(now - c->last_drained);
      if (c->queued_bytes() > 0 && still.count() >= opts_.bounds.write_stall)
        stalled.push_back(c);
    }
    for (auto& c : stalled) {
      count("net.connections_stalled");
      log("closed the connection to peer " + std::to_string(c->peer) + ": " +
          std::to_string(c->queued_bytes()) + " bytes queued have not moved for " +
          std::to_string(opts_.bounds.write_stall / us_per_ms) +
          " ms while the node's send budget is spent");
      c->close("stalled: the peer does not read");
    }
  }

  void queue_full(peer_id to, std::size_t n) {
    auto k = ++queue_full_drops_;
    count("net.frames_dropped_queue_full");
    if (power_of_two(k))
      log("outbound queue to peer " + std::to_string(to) + " is full (" +
          std::to_string(peerlab::limits::conn_queue_bytes_max) + " bytes per connection, " +
          std::to_string(opts_.bounds.send_budget) + " for the node): dropped a frame of " +
          std::to_string(n) + " bytes (" + std::to_string(k) + " dropped so far)");
  }

  // -- connection_owner (io thread) ----------------------------------------

  void on_hello(connection_base& c, const hello& h) override {
    if (c.outgoing)
      dialing_.erase(c.dialed);
    if (local_peers::contains(h.id)) { // would pose as a browser of a local endpoint
      count("net.hellos_refused_local_id");
      log_peer_caused("refused peer " + std::to_string(h.id) + " at " +
                      (c.outgoing ? c.dialed : c.remote) +
                      ": its id lies in the range reserved for local peers");
      c.close("peer id in the range reserved for local peers");
      return;
    }
    if (h.id == rt_.id_) {
      if (auto* p = configured(c.dialed))
        p->is_self = true;
      log("connection to " + (c.outgoing ? c.dialed : c.remote) + " reached this node itself");
      c.close("connected to itself");
      return;
    }
    std::string addr = c.outgoing ? c.dialed : h.listen;
    remember(h.id, addr, c.outgoing && c.proven != 0);
    auto self = conns_.at(c.serial);
    links_[h.id].push_back(self);
    if (c.outgoing) {
      if (auto* p = configured(c.dialed)) {
        p->connected = true;
        p->backoff = live_limits::peer_retry_min;
      }
      cooloff_.erase(c.dialed);
    }
    auto line = "connected to peer " + std::to_string(h.id) + " at " +
                (addr.empty() ? c.remote : addr) + (c.outgoing ? " (dialed)" : " (accepted)");
    c.outgoing ? log(line) : log_peer_caused(line);
    auto p = pending_.find(h.id);
    if (p != pending_.end()) {
      auto* route = pick(h.id);
      for (auto& f : p->second.frames)
        send_on(*route, std::move(f));
      pending_total_ -= p->second.size;
      pending_.erase(p);
    }
    if (c.outgoing) {
      drop_pending_for(c.dialed, h.id, c.dialed + " is now peer " + std::to_string(h.id));
      if (c.proven != 0)
        forget_others_at(c.dialed, h.id);
    }
    if (running_ && !addr.empty()) // the roles learn who is at which address
      for (auto& a : by_port_)
        if (a)
          caf::anon_send(a, peer_atom::value, h.id, addr);
    if (opts_.on_peer)
      opts_.on_peer(h.id, addr);
  }

  void on_frame(connection_base& c, bytes&& frame) override {
    frames_in_.fetch_add(1, std::memory_order_relaxed);
    bytes_in_.fetch_add(frame.size(), std::memory_order_relaxed);
    deliver(c.peer, std::move(frame));
  }

  void on_closed(connection_base& c, const std::string& why) override {
    auto keep = conns_[c.serial]; // alive until this function returns
    conns_.erase(c.serial);
    if (stopping_)
      return;
    count("net.connections_closed");
    if (c.ready) {
      auto it = links_.find(c.peer);
      if (it != links_.end()) {
        std::erase_if(it->second, [&](auto& p) { return p.get() == &c; });
        if (it->second.empty())
          links_.erase(it);
      }
      auto line = "connection to peer " + std::to_string(c.peer) + " closed: " + why;
      c.outgoing ? log(line) : log_peer_caused(line);
    } else if (c.outgoing) {
      dialing_.erase(c.dialed);
      dial_failed(c.dialed, why);
      return;
    } else {
      count("net.connections_closed_before_hello");
      log_peer_caused("connection from " + c.remote + " closed before its hello: " + why);
    }
    if (c.outgoing) {
      if (auto* p = configured(c.dialed); p && !p->is_self) {
        p->connected = false;
        schedule_redial(*p);
      }
    }
  }

  void on_queue_full(connection_base& c, std::size_t n) override { queue_full(c.peer, n); }

  void close_everything() {
    stopping_ = true;
    if (drop_)
      drop_->stop();
    boost::system::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    for (auto& p : configured_)
      p.retry->cancel();
    auto all = conns_;
    for (auto& [_, c] : all)
      c->close("node stopping");
    links_.clear();
    pending_.clear();
    pending_total_ = 0;
    hold_timer_.cancel();
    held_.clear();
    held_bytes_.clear();
    held_total_ = 0;
  }

  live_runtime& rt_;
  live_options opts_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::mutex log_mu_;
  mutable std::mutex counters_mu_;
  std::map<std::string, double> counters_;
  std::atomic<std::uint64_t> frames_out_{0}, bytes_out_{0}, frames_in_{0}, bytes_in_{0};
  std::atomic<std::size_t> pending_timers_{0};
  std::atomic<bool> running_{false}; // read by the io and actor threads (found by TSan)

  // Asio (declared before the CAF system so that it is destroyed after it).
  asio::io_context io_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<asio::ssl::context> tls_; // set when the node has an identity
  tcp::acceptor acceptor_{io_};
  asio::steady_timer accept_retry_{io_};
  asio::steady_timer hold_timer_{io_}; // releases shaped frames held back
  std::uint64_t accept_failures_ = 0, refused_ = 0;
  log_budget peer_log_;
  send_budget budget_{0, opts_.bounds.send_budget};
  std::thread io_thread_;
  std::unique_ptr<drop_transport> drop_; // packet files of the droplog role (io thread)

  // CAF; by_port_ is written before the io thread starts and read-only after.
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::array<caf::actor, 256> by_port_{};
  std::vector<caf::actor> actors_;

  // io thread only
  hello mine_;
  bool stopping_ = false;
  std::uint64_t serial_ = 0;
  std::map<std::uint64_t, std::shared_ptr<connection_base>> conns_;
  std::map<peer_id, std::vector<std::shared_ptr<connection_base>>> links_;
  std::map<peer_id, std::string> known_;
  std::set<peer_id> verified_; // known_ entries proven by dialing them
  std::set<std::string> dialing_;
  std::map<std::string, time_us> cooloff_;
  std::map<peer_id, pending_frames> pending_;
  std::size_t pending_total_ = 0;
  std::vector<configured_peer> configured_;
  std::uint64_t unroutable_ = 0, queue_full_drops_ = 0, hold_full_drops_ = 0;
  // Shaping: copies held until their release time (node clock), by time.
  struct held_frame {
    peer_id to;
    bytes frame;
  };
  std::multimap<time_us, held_frame> held_;
  std::map<peer_id, std::size_t> held_bytes_;
  std::size_t held_total_ = 0;
  time_us hold_armed_at_ = std::numeric_limits<time_us>::max(); // the pending wait's time
  std::vector<shaped_copy> shaped_;                             // reused for each frame
  std::atomic<std::uint64_t> unknown_port_drops_{0}; // also counted for frames to ourselves

  // Local peers (net/local_peers.hpp): any thread, under local_mu_.
  struct local_peer {
    port_t port = 0;
    local_sink sink;
  };
  std::mutex local_mu_;
  std::map<peer_id, local_peer> local_;
  std::uint32_t local_next_ = 0;
  bool local_closed_ = false;
};

// -- live_runtime -------------------------------------------------------------

std::uint64_t live_runtime::count_start(kv_store& store) {
  std::uint64_t starts = 0;
  if (auto v = store.get("node", "starts")) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), starts);
    if (ec != std::errc() || end != v->data() + v->size())
      starts = 0; // unreadable (edited by hand): counted anew from 1
  }
  ++starts;
  store.put("node", "starts", std::to_string(starts));
  return starts;
}

live_runtime::live_runtime(live_options opts) {
  if (!opts.store || !opts.content)
    throw std::invalid_argument("live_runtime needs a kv_store and a content_store");
  id_ = opts.identity ? opts.identity->id() : peer_id_from_name(opts.name);
  if (local_peers::contains(id_))
    throw std::runtime_error(
      "this node's peer id " + std::to_string(id_) +
      " lies in the range reserved for local peers (net/local_peers.hpp): " +
      (opts.identity ? "move data_dir/node.key away to make a new key" : "choose another name"));
  std::uint64_t seed = opts.seed != 0 ? opts.seed : derive_seed(id_, 0x6c697665 /* "live" */);
  // A restarted node must not draw again what its last run drew (payment
  // references, nonces, request ids): after the first start the seed mixes
  // in the count of starts, kept in the node's store.
  std::uint64_t starts = count_start(*opts.store);
  rng_.reseed(starts <= 1 ? seed : derive_seed(seed, 0x7374617274 /* "start" */, starts));
  impl_ = std::make_unique<impl>(*this, std::move(opts));
}

live_runtime::~live_runtime() { stop(); }

void live_runtime::start() {
  // OpenSSL writes to the socket with write(2), not send(MSG_NOSIGNAL): a
  // write to a connection the peer reset (a peer killed mid-transfer) would
  // raise SIGPIPE and end the whole node silently. The write fails with
  // EPIPE instead, which costs that one connection.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, nullptr);
  impl_->start();
}
void live_runtime::stop() { impl_->stop(); }
bool live_runtime::command(port_t port, const peerlab::command& cmd) {
  return impl_->command(port, cmd);
}
std::optional<command_error> live_runtime::command(port_t port, std::uint64_t id,
                                                   std::string_view verb,
                                                   const std::vector<std::string>& args) {
  auto* r = impl_->role_on(port);
  if (!r)
    return command_error{fail_code::unavailable,
                         std::string("this node runs no role on port ") + port_name(port)};
  command_error err;
  auto c = r->parse_command(id, verb, args, err);
  if (!c)
    return err;
  if (!impl_->command(port, *c))
    return command_error{fail_code::unavailable, "the node is not running"};
  return std::nullopt;
}
void live_runtime::local_command(peer_id, port_t to, peerlab::command c) {
  if (impl_->command(to, c))
    return;
  effects fx; // no role there: the asking role hears so, as from that port
  fx.fail(c, fail_code::unavailable, std::string("this node runs no ") + port_name(to) + " role");
  impl_->emit(to, std::move(fx.events.back()));
}
peer_id live_runtime::open_local_peer(port_t port, const std::string& address, local_sink sink) {
  return impl_->open_local(port, address, std::move(sink));
}
void live_runtime::local_frame(peer_id from, bytes frame) {
  impl_->local_in(from, std::move(frame));
}
void live_runtime::close_local_peer(peer_id id) { impl_->close_local(id); }
std::map<std::string, double> live_runtime::counters() const { return impl_->counters(); }
std::size_t live_runtime::outbound_bytes() const { return impl_->outbound_bytes(); }

time_us live_runtime::now() const { return impl_->now(); }
void live_runtime::send(peer_id, peer_id to, bytes frame) {
  impl_->post_frame(to, std::move(frame));
}
void live_runtime::after(peer_id, port_t port, time_us delay, std::uint64_t token) {
  impl_->arm_timer(port, delay, token);
}
rng& live_runtime::random(peer_id) { return rng_; }
kv_store& live_runtime::store(peer_id) { return *impl_->options().store; }
content_store& live_runtime::content(peer_id) { return *impl_->options().content; }
void live_runtime::metric(peer_id, const effects::metric_sample& m) { impl_->metric(m); }
void live_runtime::emit(peer_id, port_t port, event&& e) { impl_->emit(port, std::move(e)); }
void live_runtime::learn_address(peer_id peer, const std::string& address) {
  impl_->learn(peer, address);
}

} // namespace peerlab::net
