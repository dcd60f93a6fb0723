#include "net/fileset_api.hpp"

#include "net/http_server.hpp"
#include "net/json_body.hpp"
#include "protocols/fileset/commands.hpp"
#include "protocols/common/sha256.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <variant>

namespace peerlab::net {

namespace {

using nlohmann::json;
using answer = http_server_answer;

enum class route { json_put, json_get, raw_put, raw_get, status };

std::string with_0x(const std::string& hex) { return "0x" + hex; }

/// The HTTP answer to the fileset role's event `e` for a request of kind `r`.
answer answer_of(route r, const event& e) {
  auto field = [&](const char* k) -> std::string {
    auto* v = e.field(k);
    return v ? *v : std::string();
  };
  if (e.kind == "command_failed") {
    return json_error(static_cast<unsigned>(e.value("code", 500)), field("reason"));
  }
  if (e.kind == "fileset_put")
    return {200, json{{"success", true}, {"hash", field("hash")}}.dump(), {}};
  if (e.kind == "fileset_status") {
    json j{{"setId", field("set")},
           {"setCount", static_cast<std::uint64_t>(e.value("count"))},
           {"stored", static_cast<std::uint64_t>(e.value("stored"))},
           {"complete", e.value("complete") == 1}};
    if (auto* root = e.field("root"))
      j["root"] = with_0x(*root);
    return {200, j.dump(), {}};
  }
  if (e.kind != "fileset_file")
    return json_error(500, "unexpected answer " + e.kind);
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
  if (r == route::raw_get) {
    auto content = bytes_from_hex(field("content"));
    if (!content)
      return json_error(500, "the node returned bad content");
    std::string joined;
    for (auto& h : proof)
      joined += (joined.empty() ? "" : ",") + h.get<std::string>();
    return {200,
            std::string(content->begin(), content->end()),
            {{"X-Proof", joined},
             {"X-Proof-Index", std::to_string(index)},
             {"X-Tree-Size", std::to_string(size)},
             {"X-Merkle-Root", with_0x(field("root"))}},
            "application/octet-stream"};
  }
  json j{{"file", with_0x(field("content"))},
         {"proof", {{"proof", proof}, {"index", index}}},
         {"treeSize", size},
         {"root", with_0x(field("root"))}};
  return {200, j.dump(), {}};
}

/// The role command for a request, or an error answer.
std::variant<peerlab::command, answer> command_of(route r, const http_server_request& req) {
  const auto& set = req.params.at(0);
  switch (r) {
  case route::json_put: {
    std::string err;
    auto parsed = parse_json_body(req.body, err);
    if (!parsed)
      return json_error(400, err);
    json& body = *parsed;
    if (!body.is_object())
      return json_error(400, "body must be a JSON object {\"content\", \"setCount\"}");
    auto content = body.find("content");
    auto count = body.find("setCount");
    if (content == body.end() || !content->is_string())
      return json_error(400, "\"content\" must be a hex string (\"0x…\")");
    if (count == body.end() || !count->is_number_integer())
      return json_error(400, "\"setCount\" must be an integer");
    if (count->get<std::int64_t>() < 1)
      return json_error(400, "setCount must be an integer from 1 to 65536");
    return text_command_of(0, "put",
                           {set, req.params.at(1), std::to_string(count->get<std::int64_t>()),
                            content->get<std::string>()});
  }
  case route::raw_put: {
    std::optional<std::string> n;
    if (auto q = req.query.find("setCount"); q != req.query.end())
      n = q->second;
    else if (auto h = req.headers.find("x-set-count"); h != req.headers.end())
      n = h->second;
    if (!n)
      return json_error(400, "a raw upload needs ?setCount=N (or header X-Set-Count)");
    const auto& b = req.body;
    return text_command_of(
      0, "put",
      {set, req.params.at(1), *n,
       to_hex(byte_view{reinterpret_cast<const std::uint8_t*>(b.data()), b.size()})});
  }
  case route::json_get:
  case route::raw_get:
    return text_command_of(0, "get", {set, req.params.at(1)});
  case route::status:
    return text_command_of(0, "status", {set});
  }
  return json_error(500, "unknown route");
}

} // namespace

class fileset_api::impl {
public:
  impl(fileset_api_options o, submit_fn submit, log_fn log)
      : opts_(std::move(o)), submit_(std::move(submit)),
        server_(server_options(opts_), routes(), std::move(log)) {}

  void start() { server_.start(); }

  void stop() {
    server_.stop();
    std::lock_guard lock(mu_);
    waiting_.clear();
  }

  const std::string& address() const { return server_.address(); }

  bool consume(const event& e) {
    if (e.command_id < fileset_api_first_command_id ||
        e.command_id >= 2 * fileset_api_first_command_id) // another issuer's or a role's
      return false;
    waiter w;
    {
      std::lock_guard lock(mu_);
      auto it = waiting_.find(e.command_id);
      if (it == waiting_.end())
        return true; // a late answer to a request that timed out
      w = std::move(it->second);
      waiting_.erase(it);
    }
    w.respond(answer_of(w.kind, e)); // the server hands it to its io thread
    return true;
  }

private:
  struct waiter {
    route kind = route::status;
    http_server::respond_fn respond;
    std::chrono::steady_clock::time_point since;
  };

  static http_server_options server_options(const fileset_api_options& o) {
    http_server_options s;
    s.listen = o.listen;
    s.max_connections = o.max_connections;
    s.max_body = 4096; // routes without a file in the body
    s.max_header = 16 * 1024;
    s.read_timeout = o.idle_timeout;
    s.idle_timeout = o.idle_timeout;
    s.reply_timeout = o.reply_timeout;
    s.server_name = "peerlab-fileset";
    s.token = o.token;
    return s;
  }

  std::vector<http_server::route> routes() {
    const std::size_t max_file = opts_.max_file_bytes;
    auto to = [this](route r) {
      return [this, r](http_server_request req, http_server::respond_fn respond) {
        handle(r, std::move(req), std::move(respond));
      };
    };
    return {
      {"POST", "/api/sets/{}/files/{}", to(route::json_put), 2 * max_file + 64 * 1024}, // hex
      {"GET", "/api/sets/{}/files/{}", to(route::json_get)},
      {"PUT", "/api/sets/{}/raw/{}", to(route::raw_put), max_file},
      {"POST", "/api/sets/{}/raw/{}", to(route::raw_put), max_file},
      {"GET", "/api/sets/{}/raw/{}", to(route::raw_get)},
      {"GET", "/api/sets/{}", to(route::status)},
    };
  }

  void handle(route r, http_server_request req, http_server::respond_fn respond) {
    auto c = command_of(r, req);
    req.body.clear();
    req.body.shrink_to_fit();
    if (auto* refusal = std::get_if<answer>(&c))
      return respond(std::move(*refusal));
    auto& cmd = std::get<peerlab::command>(c);
    cmd.id = next_id_++;
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      // Requests the server answered with 504 leave their waiter behind.
      const auto stale = std::chrono::microseconds(opts_.reply_timeout) + std::chrono::seconds(60);
      std::erase_if(waiting_, [&](auto& w) { return now - w.second.since > stale; });
      waiting_[cmd.id] = {r, respond, now};
    }
    if (!submit_(cmd)) {
      std::lock_guard lock(mu_);
      waiting_.erase(cmd.id);
      respond(json_error(503, "the node has no fileset role running"));
    }
  }

  fileset_api_options opts_;
  submit_fn submit_;
  std::mutex mu_;
  std::map<std::uint64_t, waiter> waiting_;
  std::atomic<std::uint64_t> next_id_{fileset_api_first_command_id};
  http_server server_; // last: stopped before the rest goes
};

fileset_api::fileset_api(fileset_api_options opts, submit_fn submit, log_fn log)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(submit), std::move(log))) {}
fileset_api::~fileset_api() { stop(); }
void fileset_api::start() { impl_->start(); }
void fileset_api::stop() { impl_->stop(); }
const std::string& fileset_api::address() const { return impl_->address(); }
bool fileset_api::consume(const event& e) { return impl_->consume(e); }

peerlab::command fileset_api::connect_command(peer_id peer) {
  return peerlab::command(0, fileset::command{fileset::connect_peers{{peer}}});
}

} // namespace peerlab::net
