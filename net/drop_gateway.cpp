#include "net/drop_gateway.hpp"

#include "net/sqlite_store.hpp"

#include <nlohmann/json.hpp>

#include <random>

namespace peerlab::net {

namespace asio = boost::asio;
namespace dh = droplog::http;
using tcp = asio::ip::tcp;

namespace {

// Side b's requests taken from the log and not yet answered (key: the request
// id in hex; value: the request message as it came), so a restarted side b
// performs them again instead of losing what the log already acknowledged.
constexpr std::string_view unanswered_table = "drop_gateway_unanswered";

std::string id_key(std::uint64_t id) {
  static const char* digits = "0123456789abcdef";
  std::string k(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4)
    k[static_cast<std::size_t>(i)] = digits[id & 15];
  return k;
}

// RFC 9110 9.2.2: repeating these has the effect of doing them once.
bool idempotent(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
    if (method == m)
      return true;
  return false;
}

} // namespace

drop_gateway::drop_gateway(asio::io_context& io, drop_gateway_config cfg, log_fn log,
                           kv_store* store)
    : io_(io), cfg_(std::move(cfg)), log_(std::move(log)),
      folder_(cfg_.out_dir, cfg_.in_dir, cfg_.session.local), peer_(cfg_.session.remote),
      pending_(cfg_.max_connections),
      ids_(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32)),
      pump_timer_(io), t0_(std::chrono::steady_clock::now()) {
  store_ = store;
  if (!store_ && cfg_.state_db) {
    owned_store_ =
      std::make_unique<sqlite_store>(*cfg_.state_db, [this](const std::string& m) { log_(m); });
    store_ = owned_store_.get();
  }
  host_ = std::make_unique<droplog::host>(cfg_.session.local, std::vector<peer_id>{peer_},
                                          cfg_.session, store_);
}

drop_gateway::~drop_gateway() { stop(); }

time_us drop_gateway::now() const {
  return static_cast<time_us>(
    std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0_)
      .count());
}

const droplog::session_stats& drop_gateway::log_stats() const {
  return host_->sessions().at(peer_)->stats();
}

std::uint16_t drop_gateway::port() const {
  if (!http_)
    return 0;
  auto& a = http_->address();
  return static_cast<std::uint16_t>(std::stoul(a.substr(a.rfind(':') + 1)));
}

void drop_gateway::start() {
  running_ = true;
  if (cfg_.side == drop_gateway_config::side_t::a) {
    http_server_options o;
    o.listen = to_string(cfg_.listen);
    o.max_connections = cfg_.max_connections;
    o.max_body = cfg_.max_body;
    o.max_header = 64 * 1024;
    o.same_site_only = false; // a proxy: requests name the sites they are for
    o.read_timeout = 60 * us_per_s;
    o.idle_timeout = 300 * us_per_s;
    // The gateway answers 504 itself at request_timeout; the server's own
    // deadline only catches a gateway that never answers at all.
    o.reply_timeout = cfg_.request_timeout + 10 * us_per_s;
    o.server_name = "peerlab-drop-gateway";
    auto handler = [this](http_server_request r, http_server::respond_fn respond) {
      asio::post(io_, [this, r = std::move(r), respond = std::move(respond)]() mutable {
        if (running_)
          on_client_request(std::move(r), std::move(respond));
      });
    };
    http_ =
      std::make_unique<http_server>(o, std::vector<http_server::route>{{"*", "*", handler}}, log_);
    http_->start(); // throws naming the address if it is taken
  }
  next_metrics_ =
    cfg_.metrics_interval > 0 ? cfg_.metrics_interval : std::numeric_limits<time_us>::max();
  if (cfg_.side == drop_gateway_config::side_t::b)
    resume_unanswered();
  schedule_pump(0);
}

void drop_gateway::resume_unanswered() {
  if (!store_)
    return;
  std::vector<std::string> messages;
  store_->scan(unanswered_table,
               [&](std::string_view, std::string_view v) { messages.emplace_back(v); });
  for (auto& text : messages) {
    byte_view msg{reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
    dh::decode_error err;
    auto q = dh::decode_request(msg, cfg_.max_body, err);
    if (!q) { // written by this program: only a damaged file gets here
      log_("drop-gateway: dropped an unanswered request row that does not decode: " + err.what);
      continue;
    }
    ++resumed_;
    if (idempotent(q->method)) {
      perform(std::move(*q));
    } else {
      send_response(error_response(q->id, 502,
                                   "side b restarted while performing this " + q->method +
                                     " request; it is not repeated (the method is not "
                                     "idempotent), so it may or may not have taken effect"));
    }
  }
}

void drop_gateway::stop() {
  if (!running_)
    return;
  running_ = false;
  if (http_)
    http_->stop(); // open client connections close unanswered
  pump_timer_.cancel();
  waiting_.clear();
}

// -- side a: HTTP clients --------------------------------------------------------

void drop_gateway::on_client_request(http_server_request&& r, http_server::respond_fn respond) {
  ++metrics_.requests;
  std::string why;
  auto q = to_message(std::move(r), why);
  auto refuse = [&](std::uint16_t status, const std::string& text) {
    ++metrics_.rejected;
    metrics_.count_status(status);
    respond(to_answer(error_response(0, status, text)));
  };
  if (!q)
    return refuse(400, "cannot carry this request: " + why);
  q->timeout_ms = static_cast<std::uint32_t>(
    std::min<time_us>(cfg_.request_timeout / us_per_ms, dh::limits::timeout_ms_max));
  auto id = pending_.begin(ids_, now(), cfg_.request_timeout, 0, q->body.size());
  if (!id)
    return refuse(503, "too many requests waiting for an answer");
  q->id = *id;
  auto body_bytes = q->body.size();
  auto msg = dh::encode(*q);
  q.reset();
  std::string err;
  if (!host_->find(peer_)->submit({msg.data(), msg.size()}, &err)) {
    pending_.complete(*id);
    return refuse(503, "the message log refused the request: " + err);
  }
  metrics_.request_body_bytes += body_bytes;
  waiting_[*id] = std::move(respond);
  schedule_pump(0);
}

// -- messages from the log ---------------------------------------------------------

void drop_gateway::on_message(peer_id from, droplog::delivered_message& m) {
  byte_view msg{m.data.data(), m.data.size()};
  auto k = dh::peek_kind(msg);
  dh::decode_error err;
  const bool side_a = cfg_.side == drop_gateway_config::side_t::a;
  if (k == dh::kind::request && !side_a) {
    auto q = dh::decode_request(msg, cfg_.max_body, err);
    if (q) {
      ++metrics_.requests;
      metrics_.request_body_bytes += q->body.size();
      return perform(std::move(*q));
    }
  } else if (k == dh::kind::response && side_a) {
    auto p = dh::decode_response(msg, cfg_.max_body, err);
    if (p) {
      auto e = pending_.complete(p->id);
      http_server::respond_fn respond;
      if (auto w = waiting_.find(p->id); w != waiting_.end()) {
        respond = std::move(w->second);
        waiting_.erase(w);
      }
      if (!e || !respond) {
        ++metrics_.late_responses; // expired
        return;
      }
      metrics_.count_status(p->status);
      metrics_.response_body_bytes += p->body.size();
      metrics_.add_latency(now() - e->started);
      respond(to_answer(std::move(*p))); // ignored if the client went away
      return;
    }
  } else {
    err.what = "unexpected message kind on side " + std::string(side_a ? "a" : "b");
  }
  ++metrics_.bad_messages;
  log_("drop-gateway: ignored a message from " + hex16(from) + ": " + err.what);
}

void drop_gateway::perform(dh::request&& q) {
  if (upstream_in_flight_ < cfg_.max_upstream_in_flight)
    return start_upstream(std::move(q));
  if (upstream_queue_.size() < cfg_.max_upstream_queue) {
    upstream_queue_.push_back(std::move(q));
    return;
  }
  send_response(error_response(q.id, 503, "too many requests waiting for the upstream server"));
}

void drop_gateway::start_upstream(dh::request&& q) {
  ++upstream_in_flight_;
  time_us t = cfg_.upstream_timeout;
  if (q.timeout_ms > 0)
    t = std::min<time_us>(t, static_cast<time_us>(q.timeout_ms) * us_per_ms);
  auto call =
    std::make_shared<upstream_call>(io_, cfg_.upstream, std::chrono::microseconds(t), cfg_.max_body,
                                    std::move(q), [this](dh::response&& p) {
                                      --upstream_in_flight_;
                                      if (!running_)
                                        return;
                                      send_response(std::move(p));
                                      if (!upstream_queue_.empty()) {
                                        auto next = std::move(upstream_queue_.front());
                                        upstream_queue_.pop_front();
                                        start_upstream(std::move(next));
                                      }
                                    });
  call->start();
}

void drop_gateway::send_response(dh::response&& p) {
  metrics_.count_status(p.status);
  bool own_error = false;
  for (auto& h : p.headers)
    own_error = own_error || h.name == "X-Droplog-Gateway";
  if (own_error && p.status == 502)
    ++metrics_.upstream_errors;
  if (own_error && p.status == 504)
    ++metrics_.gateway_timeouts;
  metrics_.response_body_bytes += p.body.size();
  auto msg = dh::encode(p);
  std::string err;
  {
    std::optional<atomic_rows> group; // the answer is in the log, or the request still waits
    if (store_)
      group.emplace(*store_);
    if (!host_->find(peer_)->submit({msg.data(), msg.size()}, &err))
      log_("drop-gateway: the message log refused a response: " + err);
    if (store_)
      store_->erase(unanswered_table, id_key(p.id));
  }
  schedule_pump(0);
}

void drop_gateway::remember_request(const droplog::delivered_message& m) {
  byte_view msg{m.data.data(), m.data.size()};
  if (!store_ || dh::peek_kind(msg) != dh::kind::request)
    return;
  dh::decode_error err;
  auto q = dh::decode_request(msg, cfg_.max_body, err);
  if (q) // one that does not decode is answered by nobody: on_message counts it
    store_->put(unanswered_table, id_key(q->id),
                std::string_view(reinterpret_cast<const char*>(m.data.data()), m.data.size()));
}

// -- the folder pump ---------------------------------------------------------------

void drop_gateway::schedule_pump(time_us delay) {
  if (!running_)
    return;
  time_us at = now() + std::max<time_us>(delay, 0);
  if (pump_armed_ && pump_at_ <= at)
    return;
  pump_armed_ = true;
  pump_at_ = at;
  pump_timer_.expires_after(std::chrono::microseconds(std::max<time_us>(delay, 0)));
  pump_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted)
      return;
    pump();
  });
}

void drop_gateway::pump() {
  pump_armed_ = false;
  if (!running_)
    return;
  time_us t = now();
  for (auto& f : folder_.scan()) {
    droplog::host::incoming in;
    {
      // The log acknowledges what it delivers: side b stores the requests in
      // the same transaction, so a kill never loses an acknowledged request.
      std::optional<atomic_rows> group;
      if (store_)
        group.emplace(*store_);
      in = host_->on_file(t, {f.data.data(), f.data.size()});
      if (cfg_.side == drop_gateway_config::side_t::b)
        for (auto& m : in.result.delivered)
          remember_request(m);
    }
    bool useless = in.unrouted;
    for (auto& e : in.result.events)
      useless = useless || e.kind == droplog::event_kind::packet_rejected;
    if (useless) // forged, another pair's, or unreadable: nobody will ever need it
      folder_.remove_incoming(f.name);
    for (auto& m : in.result.delivered)
      on_message(in.from, m);
  }
  for (auto& [id, e] : pending_.expire(t)) {
    ++metrics_.gateway_timeouts;
    metrics_.count_status(504);
    metrics_.add_latency(t - e.started);
    auto w = waiting_.find(id);
    if (w == waiting_.end())
      continue;
    w->second(to_answer(error_response(id, 504,
                                       "no answer through the file-drop channel within " +
                                         std::to_string(cfg_.request_timeout / us_per_s) + " s")));
    waiting_.erase(w);
  }
  t = now();
  auto r = host_->poll(t);
  for (auto& f : r.files) {
    try {
      folder_.write(f.to, f.packet.packet_id, {f.packet.data.data(), f.packet.data.size()});
    } catch (const std::exception& e) {
      log_(std::string("drop-gateway: ") + e.what()); // the log retransmits what was lost
    }
  }
  for (auto& [peer, d] : host_->take_deletable()) {
    if (d.side == droplog::folder_side::outgoing)
      folder_.remove_outgoing(peer, d.packet_id);
    else
      folder_.remove_incoming(peer, d.packet_id);
  }
  if (t >= next_metrics_) {
    log_(metrics_json());
    next_metrics_ = t + cfg_.metrics_interval;
  }
  time_us next = std::min({r.next_wake, pending_.next_deadline(), t + cfg_.poll_interval});
  schedule_pump(next - now());
}

std::string drop_gateway::metrics_json() const {
  nlohmann::json j;
  j["event"] = "drop_gateway_metrics";
  j["side"] = cfg_.side == drop_gateway_config::side_t::a ? "a" : "b";
  for (auto& [k, v] : metrics_.values())
    j["http"][k] = v;
  if (cfg_.side == drop_gateway_config::side_t::b)
    j["http"]["resumed_after_restart"] = resumed_;
  auto& s = log_stats();
  auto* sess = host_->sessions().at(peer_).get();
  double received = static_cast<double>(s.packets_received);
  j["log"] = {
    {"messages_submitted", s.messages_submitted},
    {"messages_delivered", s.messages_delivered},
    {"files_sent", s.packets_sent},
    {"bytes_sent", s.bytes_sent},
    {"files_received", s.packets_received},
    {"bytes_received", s.bytes_received},
    {"files_truncated", s.packets_truncated},
    {"files_damaged", s.packets_damaged},
    {"files_rejected", s.packets_rejected},
    {"files_duplicate", s.packets_duplicate},
    {"truncation_rate",
     received > 0 ? static_cast<double>(s.packets_truncated + s.packets_damaged) / received : 0.0},
    {"entries_retransmitted", s.entries_retransmitted},
    {"timeouts", s.timeouts},
    {"srtt_ms", static_cast<double>(sess->rtt().srtt()) / us_per_ms},
    {"packet_target_bytes", sess->packet_size_target()},
    {"outbox_entries", sess->outbox_entries()}};
  auto& f = folder_.stats();
  j["folder"] = {{"written", f.written},
                 {"read", f.read},
                 {"removed", f.removed},
                 {"ignored_names", f.ignored_names}};
  return j.dump();
}

} // namespace peerlab::net
