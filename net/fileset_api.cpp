#include "net/fileset_api.hpp"

#include "net/address.hpp"
#include "net/listener.hpp"
#include "protocols/common/sha256.hpp"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace peerlab::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

enum class route { none, json_put, json_get, raw_put, raw_get, status };

struct parsed_target {
  route r = route::none;
  bool known_path = false; // the path exists, maybe not for this method
  std::string set, index;
  std::string query;
};

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string_view::npos)
      slash = path.size();
    out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

parsed_target parse_target(http::verb method, std::string_view target) {
  parsed_target t;
  auto q = target.find('?');
  if (q != std::string_view::npos) {
    t.query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  auto parts = split_path(target); // "/api/sets/x/files/0" -> "", api, sets, x, files, 0
  if (parts.size() < 4 || !parts[0].empty() || parts[1] != "api" || parts[2] != "sets")
    return t;
  t.set = parts[3];
  if (parts.size() == 4) {
    t.known_path = true;
    if (method == http::verb::get)
      t.r = route::status;
    return t;
  }
  if (parts.size() != 6 || (parts[4] != "files" && parts[4] != "raw"))
    return t;
  t.known_path = true;
  t.index = parts[5];
  const bool raw = parts[4] == "raw";
  if (method == http::verb::get)
    t.r = raw ? route::raw_get : route::json_get;
  else if (!raw && method == http::verb::post)
    t.r = route::json_put;
  else if (raw && (method == http::verb::put || method == http::verb::post))
    t.r = route::raw_put;
  return t;
}

std::optional<std::string> query_param(const std::string& query, std::string_view key) {
  std::size_t pos = 0;
  while (pos < query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string::npos)
      amp = query.size();
    std::string_view kv(query.data() + pos, amp - pos);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == key)
      return std::string(kv.substr(eq + 1));
    pos = amp + 1;
  }
  return std::nullopt;
}

std::string error_json(const std::string& msg) { return json{{"error", msg}}.dump(); }

std::string with_0x(const std::string& hex) { return "0x" + hex; }

} // namespace

class fileset_api::impl {
public:
  class session;

  impl(fileset_api_options o, submit_fn submit, log_fn log)
      : opts_(std::move(o)), submit_(std::move(submit)), log_(std::move(log)) {
    if (!log_)
      log_ = [](const std::string& m) { std::fprintf(stderr, "fileset api: %s\n", m.c_str()); };
  }

  void start() {
    bound_ = open_listener(ioc_, acceptor_, opts_.listen, "fileset http");
    running_ = true;
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void stop() {
    if (!running_.exchange(false))
      return;
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      if (acceptor_)
        acceptor_->close(ec);
      close_all();
    });
    if (thread_.joinable())
      thread_.join();
    std::lock_guard lock(mu_);
    waiting_.clear();
  }

  bool consume(const event& e);

  const std::string& address() const { return bound_; }

  // -- used by sessions -------------------------------------------------------

  std::uint64_t submit(const std::shared_ptr<session>& s, peerlab::command c) {
    c.id = next_id_++;
    {
      std::lock_guard lock(mu_);
      waiting_[c.id] = s;
    }
    if (!submit_(c)) {
      std::lock_guard lock(mu_);
      waiting_.erase(c.id);
      return 0;
    }
    return c.id;
  }
  void forget(std::uint64_t id) {
    std::lock_guard lock(mu_);
    waiting_.erase(id);
  }
  void closed(session* s) { sessions_.erase(s); }

  const fileset_api_options& opts() const { return opts_; }
  asio::io_context& ioc() { return ioc_; }
  void log(const std::string& m) { log_(m); }

private:
  void accept();
  void close_all();

  fileset_api_options opts_;
  submit_fn submit_;
  log_fn log_;
  asio::io_context ioc_;
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
  std::string bound_;
  std::atomic<bool> running_{false};
  std::mutex mu_;
  std::map<std::uint64_t, std::weak_ptr<session>> waiting_;
  std::atomic<std::uint64_t> next_id_{fileset_api_first_command_id};
  std::map<session*, std::weak_ptr<session>> sessions_; // io thread only
  friend class session;
};

class fileset_api::impl::session : public std::enable_shared_from_this<session> {
public:
  session(impl& api, tcp::socket socket)
      : api_(api), stream_(std::move(socket)), reply_timer_(api.ioc()) {}
  ~session() { api_.closed(this); }

  void run() { read(); }

  /// Too many connections: answer 503 without reading and close.
  void refuse() {
    version_ = 11;
    keep_alive_ = false;
    respond(http::status::service_unavailable, error_json("too many connections"));
  }

  void close() {
    boost::system::error_code ec;
    reply_timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  void on_reply(event e) {
    if (waiting_ == 0)
      return;
    waiting_ = 0;
    reply_timer_.cancel();
    answer(e);
  }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    // The largest body of any route; narrowed once the route is known.
    parser_->body_limit(2 * api_.opts().max_file_bytes + 64 * 1024);
    stream_.expires_after(std::chrono::microseconds(api_.opts().idle_timeout));
    http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::body_limit) {
        keep_alive_ = false;
        return respond(http::status::payload_too_large,
                       error_json("request body larger than allowed"));
      }
      if (ec == http::error::header_limit) {
        keep_alive_ = false;
        return respond(http::status::request_header_fields_too_large,
                       error_json("request header larger than 16 KiB"));
      }
      return close();
    }
    auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    target_ =
      parse_target(req.method(), std::string_view(req.target().data(), req.target().size()));
    const std::uint64_t max_file = api_.opts().max_file_bytes;
    std::uint64_t limit = 4096;
    if (target_.r == route::json_put)
      limit = 2 * max_file + 64 * 1024; // hex doubles the size
    else if (target_.r == route::raw_put)
      limit = max_file;
    if (auto n = parser_->content_length(); n && *n > limit) {
      keep_alive_ = false; // the body is not read
      return respond(http::status::payload_too_large,
                     error_json("request body of " + std::to_string(*n) +
                                " bytes is larger than allowed (" + std::to_string(limit) +
                                " bytes)"));
    }
    parser_->body_limit(limit);
    // curl sends "Expect: 100-continue" for bodies above 1 MiB and waits a
    // second for the go-ahead unless it gets one.
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      auto cont =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
                          if (ec)
                            return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false; // the rest of the body is not read
      return respond(http::status::payload_too_large,
                     error_json("request body larger than allowed"));
    }
    if (ec)
      return close();
    stream_.expires_never();
    handle(parser_->get());
  }

  void handle(http::request<http::string_body>& req) {
    if (target_.r == route::none) {
      if (target_.known_path)
        return respond(http::status::method_not_allowed,
                       error_json(std::string(req.method_string()) + " is not allowed on " +
                                  std::string(req.target())));
      return respond(http::status::not_found, error_json("no route " + std::string(req.target())));
    }
    peerlab::command c;
    switch (target_.r) {
    case route::json_put: {
      json body;
      try {
        body = json::parse(req.body());
      } catch (const json::parse_error&) {
        return respond(http::status::bad_request, error_json("body is not JSON"));
      }
      if (!body.is_object())
        return respond(http::status::bad_request,
                       error_json("body must be a JSON object {\"content\", \"setCount\"}"));
      auto content = body.find("content");
      auto count = body.find("setCount");
      if (content == body.end() || !content->is_string())
        return respond(http::status::bad_request,
                       error_json("\"content\" must be a hex string (\"0x…\")"));
      if (count == body.end() || !count->is_number_integer())
        return respond(http::status::bad_request, error_json("\"setCount\" must be an integer"));
      if (count->get<std::int64_t>() < 1)
        return respond(http::status::bad_request,
                       error_json("setCount must be an integer from 1 to 65536"));
      c = {0,
           "put",
           {target_.set, target_.index, std::to_string(count->get<std::int64_t>()),
            content->get<std::string>()}};
      break;
    }
    case route::raw_put: {
      auto n = query_param(target_.query, "setCount");
      if (!n) {
        auto h = req.find("X-Set-Count");
        if (h != req.end())
          n = std::string(h->value());
      }
      if (!n)
        return respond(http::status::bad_request,
                       error_json("a raw upload needs ?setCount=N (or header X-Set-Count)"));
      const auto& b = req.body();
      c = {0,
           "put",
           {target_.set, target_.index, *n,
            to_hex(byte_view{reinterpret_cast<const std::uint8_t*>(b.data()), b.size()})}};
      break;
    }
    case route::json_get:
    case route::raw_get:
      c = {0, "get", {target_.set, target_.index}};
      break;
    case route::status:
      c = {0, "status", {target_.set}};
      break;
    case route::none:
      break;
    }
    req.body().clear();
    req.body().shrink_to_fit();
    waiting_ = api_.submit(shared_from_this(), std::move(c));
    if (waiting_ == 0)
      return respond(http::status::service_unavailable,
                     error_json("the node has no fileset role running"));
    reply_timer_.expires_after(std::chrono::microseconds(api_.opts().reply_timeout));
    reply_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->waiting_ == 0)
        return;
      self->api_.forget(self->waiting_);
      self->waiting_ = 0;
      self->respond(http::status::gateway_timeout, error_json("the node did not answer in time"));
    });
  }

  void answer(const event& e) {
    auto field = [&](const char* k) -> std::string {
      auto* v = e.field(k);
      return v ? *v : std::string();
    };
    if (e.kind == "command_failed") {
      unsigned code = 500;
      try {
        code = static_cast<unsigned>(std::stoul(field("status")));
      } catch (const std::exception&) {
      }
      return respond(static_cast<http::status>(code), error_json(field("reason")));
    }
    if (e.kind == "fileset_put")
      return respond(http::status::ok, json{{"success", true}, {"hash", field("hash")}}.dump());
    if (e.kind == "fileset_status") {
      json j{{"setId", field("set")},
             {"setCount", static_cast<std::uint64_t>(e.value("count"))},
             {"stored", static_cast<std::uint64_t>(e.value("stored"))},
             {"complete", e.value("complete") == 1}};
      if (auto* r = e.field("root"))
        j["root"] = with_0x(*r);
      return respond(http::status::ok, j.dump());
    }
    if (e.kind == "fileset_file") {
      json proof = json::array();
      std::string p = field("proof");
      for (std::size_t pos = 0; pos < p.size();) {
        auto comma = p.find(',', pos);
        if (comma == std::string::npos)
          comma = p.size();
        proof.push_back(with_0x(p.substr(pos, comma - pos)));
        pos = comma + 1;
      }
      const auto index = static_cast<std::uint64_t>(e.value("index"));
      const auto size = static_cast<std::uint64_t>(e.value("tree_size"));
      if (target_.r == route::raw_get) {
        auto content = bytes_from_hex(field("content"));
        if (!content)
          return respond(http::status::internal_server_error,
                         error_json("the node returned bad content"));
        std::string joined;
        for (auto& h : proof)
          joined += (joined.empty() ? "" : ",") + h.get<std::string>();
        return respond(http::status::ok, std::string(content->begin(), content->end()),
                       "application/octet-stream",
                       {{"X-Proof", joined},
                        {"X-Proof-Index", std::to_string(index)},
                        {"X-Tree-Size", std::to_string(size)},
                        {"X-Merkle-Root", with_0x(field("root"))}});
      }
      json j{{"file", with_0x(field("content"))},
             {"proof", {{"proof", proof}, {"index", index}}},
             {"treeSize", size},
             {"root", with_0x(field("root"))}};
      return respond(http::status::ok, j.dump());
    }
    respond(http::status::internal_server_error, error_json("unexpected answer " + e.kind));
  }

  void respond(http::status status, std::string body, const char* type = "application/json",
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(status, version_);
    res->set(http::field::server, "peerlab-fileset");
    res->set(http::field::content_type, type);
    for (auto& [k, v] : headers)
      res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::microseconds(api_.opts().idle_timeout));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive())
                          return self->close();
                        self->read();
                      });
  }

  impl& api_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer reply_timer_;
  parsed_target target_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::uint64_t waiting_ = 0;
};

bool fileset_api::impl::consume(const event& e) {
  if (e.command_id < fileset_api_first_command_id)
    return false;
  std::shared_ptr<session> s;
  {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(e.command_id);
    if (it == waiting_.end())
      return true; // a late answer to a request that timed out
    s = it->second.lock();
    waiting_.erase(it);
  }
  if (s && running_)
    asio::post(ioc_, [s, e]() mutable { s->on_reply(std::move(e)); });
  return true;
}

void fileset_api::impl::accept() {
  acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (running_ && ec != asio::error::operation_aborted)
        accept();
      return;
    }
    auto s = std::make_shared<session>(*this, std::move(socket));
    const bool busy = sessions_.size() >= opts_.max_connections;
    sessions_[s.get()] = s;
    if (busy)
      s->refuse();
    else
      s->run();
    accept();
  });
}

void fileset_api::impl::close_all() {
  std::vector<std::shared_ptr<session>> open;
  for (auto& [_, w] : sessions_)
    if (auto s = w.lock())
      open.push_back(s);
  for (auto& s : open)
    s->close();
}

fileset_api::fileset_api(fileset_api_options opts, submit_fn submit, log_fn log)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(submit), std::move(log))) {}
fileset_api::~fileset_api() { stop(); }
void fileset_api::start() { impl_->start(); }
void fileset_api::stop() { impl_->stop(); }
const std::string& fileset_api::address() const { return impl_->address(); }
bool fileset_api::consume(const event& e) { return impl_->consume(e); }

peerlab::command fileset_api::connect_command(peer_id peer) {
  return peerlab::command{0, "connect", {std::to_string(peer)}};
}

} // namespace peerlab::net
