#include "net/drop_listener.hpp"

#include "net/drop_http.hpp"
#include "protocols/droplog/commands.hpp"
#include "protocols/droplog/droplog.hpp"

namespace peerlab::net {

namespace dh = droplog::http;

drop_listener::drop_listener(drop_listener_options o, submit_fn submit, log_fn log)
    : o_(std::move(o)), submit_(std::move(submit)), log_(std::move(log)) {}

drop_listener::~drop_listener() { stop(); }

void drop_listener::start() {
  http_server_options s;
  s.listen = to_string(o_.listen);
  s.max_connections = o_.max_connections;
  s.max_body = o_.max_body; // 413 before the body is read
  s.max_header = 64 * 1024;
  s.same_site_only = false; // a proxy: requests name the sites they are for
  s.read_timeout = 60 * us_per_s;
  s.idle_timeout = 300 * us_per_s;
  // The role answers 504 itself at request_timeout; the server's own
  // deadline only catches a node that never answers at all.
  s.reply_timeout = o_.request_timeout + 10 * us_per_s;
  s.server_name = "peerlab-drop-gateway";
  auto handler = [this](http_server_request r, http_server::respond_fn respond) {
    on_request(std::move(r), std::move(respond));
  };
  http_ =
    std::make_unique<http_server>(s, std::vector<http_server::route>{{"*", "*", handler}}, log_);
  http_->start();
}

void drop_listener::stop() {
  if (http_)
    http_->stop();
  std::lock_guard lock(mu_);
  waiting_.clear();
}

std::uint16_t drop_listener::port() const {
  if (!http_)
    return 0;
  auto& a = http_->address();
  return static_cast<std::uint16_t>(std::stoul(a.substr(a.rfind(':') + 1)));
}

drop_listener::counters drop_listener::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void drop_listener::on_request(http_server_request&& r, http_server::respond_fn respond) {
  std::string why;
  auto q = to_message(std::move(r), why);
  std::unique_lock lock(mu_);
  ++stats_.requests;
  if (!q) {
    ++stats_.refused;
    lock.unlock();
    return respond(to_answer(error_response(0, 400, "cannot carry this request: " + why)));
  }
  droplog::http_request c;
  c.peer = o_.peer;
  c.method = std::move(q->method);
  c.target = std::move(q->target);
  c.headers = std::move(q->headers);
  c.body = std::move(q->body);
  c.timeout_ms = static_cast<std::uint64_t>(std::min<time_us>(
    std::max<time_us>(o_.request_timeout / us_per_ms, 1), dh::limits::timeout_ms_max));
  c.want_message = true;
  auto id = next_id_++;
  waiting_[id] = std::move(respond);
  lock.unlock();
  // The role answers on its thread (consume), possibly before submit returns.
  if (!submit_(command(id, droplog::command{std::move(c)}))) {
    lock.lock();
    auto w = waiting_.extract(id);
    ++stats_.refused;
    lock.unlock();
    if (!w.empty())
      w.mapped()(to_answer(error_response(0, 503, "the node is stopping")));
  }
}

bool drop_listener::consume(const event& e) {
  if (e.command_id < drop_listener_first_command_id ||
      e.command_id >= 2 * drop_listener_first_command_id)
    return false; // another issuer's or a role's own
  std::unique_lock lock(mu_);
  auto w = waiting_.extract(e.command_id);
  if (w.empty())
    return e.kind == "http_response"; // the client is gone (the node stops): not printed
  auto respond = std::move(w.mapped());
  dh::response p;
  if (e.kind == "command_failed") {
    ++stats_.refused;
    auto code = static_cast<std::uint16_t>(e.value("code", 500));
    auto* reason = e.field("reason");
    p = error_response(0, code, "the gateway refused the request: " + (reason ? *reason : ""));
  } else if (auto* m = e.field("message")) {
    ++stats_.answered;
    lock.unlock();
    dh::decode_error err;
    auto got = dh::decode_response({reinterpret_cast<const std::uint8_t*>(m->data()), m->size()},
                                   o_.max_body, err);
    if (!got) { // the role decoded it already: only a bug gets here
      lock.lock();
      ++stats_.unreadable;
      lock.unlock();
      p = error_response(0, 502, "unreadable response: " + err.what);
    } else {
      p = std::move(*got);
    }
    respond(to_answer(std::move(p)));
    return true;
  } else { // http_response without a message: the role's own 504
    ++stats_.timeouts;
    p = error_response(0, 504,
                       "no answer through the file-drop channel within " +
                         std::to_string(o_.request_timeout / us_per_s) + " s");
  }
  lock.unlock();
  respond(to_answer(std::move(p)));
  return true;
}

} // namespace peerlab::net
