// Writes the seed corpora of the fuzz targets: real encoded messages of every
// kind, one file each, so the fuzzers start from valid input and mutate into
// the corners. Usage: fuzz_corpus DIR (writes DIR/<target>/<name>).
// tests/scripts/fuzz_targets.sh runs it and checks the result in
// tests/fuzz/corpus/ is what it writes.
#include "net/framing.hpp"
#include "net/handshake.hpp"
#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/httpmsg.hpp"
#include "protocols/fileset/codec.hpp"
#include "protocols/filexfer/codec.hpp"
#include "protocols/gossip/codec.hpp"
#include "protocols/kad/codec.hpp"
#include "protocols/ledger/codec.hpp"
#include "protocols/market/codec.hpp"
#include "protocols/merkle/merkle.hpp"
#include "protocols/proxy/codec.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

fs::path root;

void put(const std::string& target, const std::string& name, const bytes& b,
         std::initializer_list<std::uint8_t> prefix = {}) {
  fs::create_directories(root / target);
  std::ofstream f(root / target / name, std::ios::binary);
  for (auto p : prefix)
    f.put(static_cast<char>(p));
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

digest filled(std::uint8_t v) {
  digest d{};
  d.fill(v);
  return d;
}

void filexfer_seeds() {
  using namespace filexfer;
  put("filexfer_codec", "meta_req", encode(meta_req{1, filled(1)}));
  put("filexfer_codec", "meta_ok", encode(meta_ok{2, "file.bin", 10, 4096}));
  put("filexfer_codec", "meta_err", encode(meta_err{3, error_code::not_provider, "no"}));
  put("filexfer_codec", "content_req", encode(content_req{4, filled(2), 0, 4096, 1024}));
  put("filexfer_codec", "content_chunk", encode(content_chunk{5, 1024, {}, bytes(32, 0x5a)}));
  put("filexfer_codec", "content_end", encode(content_end{6, 4096}));
  put("filexfer_codec", "content_err", encode(content_err{7, error_code::busy, "busy"}));
}

void kad_seeds() {
  kad::message m;
  m.request_id = 9;
  m.sender_id = filled(3);
  m.sender_address = "127.0.0.1:4000";
  put("kad_codec", "ping", kad::encode(m));
  m.type = kad::msg_type::find_node;
  m.key = filled(4);
  put("kad_codec", "find_node", kad::encode(m));
  m.type = kad::msg_type::nodes;
  m.closer = {kad::make_contact(1, "127.0.0.1:4001"), kad::make_contact(2)};
  put("kad_codec", "nodes", kad::encode(m));
  m.type = kad::msg_type::add_provider;
  m.provider = kad::make_contact(5, "127.0.0.1:4005");
  put("kad_codec", "add_provider", kad::encode(m));
  m.type = kad::msg_type::providers;
  m.providers = {kad::make_contact(6, "h:1")};
  put("kad_codec", "providers", kad::encode(m));
  kad::message e;
  e.type = kad::msg_type::err;
  e.code = 2;
  e.text = "key full";
  put("kad_codec", "err", kad::encode(e));
}

void ledger_seeds() {
  using namespace ledger;
  put("ledger_codec", "transfer", encode(transfer{1, 7, 10, 20, 500, 1, 3}));
  put("ledger_codec", "tx_status_req", encode(tx_status_req{2, 7, filled(5)}));
  put("ledger_codec", "balance_req", encode(balance_req{3, 7, 10}));
  put("ledger_codec", "transfer_ok", encode(transfer_ok{7, 1, filled(6)}));
  put("ledger_codec", "transfer_err", encode(transfer_err{7, 1, error_code::overdraft, "short"}));
  tx_status_reply s;
  s.port = 7;
  s.id = filled(7);
  s.status = tx_status::confirmed;
  s.from = 1;
  s.to = 2;
  s.amount = 5;
  s.height = 3;
  s.depth = 2;
  s.tip = 4;
  put("ledger_codec", "tx_status", encode(s));
  put("ledger_codec", "balance", encode(balance_reply{7, 3, 10, 1000, 20, 4}));
}

void market_seeds() {
  using namespace market;
  put("market_codec", "payment_request",
      encode(payment_request{{1}, filled(8), 100, 42, 0, 4096, 5000}));
  put("market_codec", "payment_notify", encode(payment_notify{{2}, filled(9)}));
  put("market_codec", "payment_status",
      encode(payment_status{{3}, filled(10), pay_status::failed, "wrong payee"}));
}

void proxy_seeds() {
  using namespace proxy;
  auto tok = auth_token{};
  tok.fill(7);
  payment_ref ref{};
  ref.fill(3);
  metadata info{"127.0.0.1:3128", 25, 77};
  put("proxy_codec", "meta_req", encode(meta_req{1}));
  put("proxy_codec", "connect_req", encode(connect_req{2}));
  put("proxy_codec", "usage_report", encode(usage_report{5, tok, 3, 1'000'000, 2500}));
  put("proxy_codec", "payment_notify", encode(payment_notify{5, tok, ref, filled(9)}));
  put("proxy_codec", "session_end", encode(session_end{5, tok, end_reason::client_closed, "x"}));
  put("proxy_codec", "data_up", encode(data_up{5, tok, 9, 40'000, bytes(64, 0x41)}));
  put("proxy_codec", "meta", encode(meta{1, info}));
  put("proxy_codec", "meta_refused", encode(meta_refused{1, refusal::not_provider, "no"}));
  put("proxy_codec", "connect_ok", encode(connect_ok{2, 5, tok, info}));
  put("proxy_codec", "connect_refused", encode(connect_refused{2, refusal::busy, "busy"}));
  put("proxy_codec", "payment_request",
      encode(payment_request{5, 3, 1'000'100, 2500, 2500, 77, ref}));
  put("proxy_codec", "usage_refused",
      encode(usage_refused{5, 3, refusal::out_of_tolerance, 2'000'000, "band"}));
  put("proxy_codec", "payment_status",
      encode(payment_status{5, ref, filled(9), pay_status::failed, "duplicate tx id"}));
  put("proxy_codec", "session_ended", encode(session_ended{5, end_reason::unpaid, "unpaid"}));
  put("proxy_codec", "data_down", encode(data_down{5, 9, true, bytes(64, 0x42)}));
}

void gossip_seeds() {
  using namespace gossip;
  put("gossip_codec", "subscriptions", encode(subscriptions_msg{{{true, "files"}, {false, "x"}}}));
  put("gossip_codec", "message", encode(message_msg{"files", 1, text("hello")}));
  auto id = message_id("files", text("hello"));
  put("gossip_codec", "ihave", encode(ihave_msg{"files", {id}}));
  put("gossip_codec", "iwant", encode(iwant_msg{{id, id}}));
  put("gossip_codec", "graft", encode(graft_msg{"files"}));
  put("gossip_codec", "prune", encode(prune_msg{"files", 60}));
}

void fileset_seeds() {
  using namespace fileset;
  put("fileset_codec", "file", encode(file_msg{"set-1", 3, 0, text("abc")}), {0});
  put("fileset_codec", "announce", encode(announce_msg{"set-1", 3, 2, 1000, filled(11), 9}), {0});
  put("fileset_codec", "list_req", encode(list_req{1, "a"}), {1});
  put("fileset_codec", "list_resp",
      encode(list_resp{2, {{"a", 2, filled(12)}, {"b", 1, {}}}, true}), {1});
  put("fileset_codec", "manifest_req", encode(manifest_req{3, "a"}), {1});
  put("fileset_codec", "manifest_resp",
      encode(manifest_resp{4, "a", true, 2, filled(13), {filled(14), filled(15)}}), {1});
  put("fileset_codec", "fetch_req", encode(fetch_req{5, "a", 1, 0, 1024}), {1});
  put("fileset_codec", "fetch_resp", encode(fetch_resp{6, "a", 1, true, 3, 0, text("xyz")}), {1});
}

void merkle_seeds() {
  merkle::tree t;
  for (int i = 0; i < 7; ++i)
    t.append(text("leaf " + std::to_string(i)));
  for (std::uint64_t i : {0, 3, 6})
    put("merkle_proof", "proof" + std::to_string(i),
        merkle::encode(merkle::inclusion_proof{i, 7, t.inclusion_proof(i, 7)}));
}

void droplog_seeds() {
  using namespace droplog;
  direction_keys keys("droplog fuzz key: 32 bytes long!", 0x0a0a, 0x0b0b);
  control_block c;
  c.cumulative_ack = 5;
  c.message_ranges = {{7, 9}};
  c.nacks = {{3, 120}};
  c.blocks = {{4, 2}};
  c.rebuilt = {{1, 3}};
  message_frame m;
  m.seq = 5;
  m.payload = text("hello over a file drop");
  for (std::uint8_t flags : {std::uint8_t{0}, packet_flags::encrypted})
    put("droplog_packet", flags ? "raw_encrypted" : "raw_plain",
        encode_packet(flags, 0x0a0a, 0x0b0b, 11, c, {&m}, keys), {0});
  message_frame sym; // an erasure-coded symbol: block 4, index 5 of k = 3
  sym.seq = 4;
  sym.fragment_index = 5;
  sym.fragment_count = 3;
  sym.flags = message_flags::coded;
  sym.payload = text("parity symbol bytes.");
  put("droplog_packet", "raw_symbol", encode_packet(0, 0x0a0a, 0x0b0b, 12, c, {&sym}, keys), {0});
  // Built mode: the bytes describe the packet (tests/fuzz/droplog_packet.cpp).
  put("droplog_packet", "built", text("\x05\x01\x02\x03 some message bytes here"), {1});

  http::request q;
  q.id = 1;
  q.timeout_ms = 5000;
  q.method = "POST";
  q.target = "/api/x?y=1";
  q.headers = {{"Host", "example"}, {"Content-Type", "text/plain"}};
  q.body = text("body");
  put("droplog_http", "request", http::encode(q));
  http::response p;
  p.id = 1;
  p.reason = "OK";
  p.headers = {{"Content-Type", "text/plain"}};
  p.body = text("answer");
  put("droplog_http", "response", http::encode(p));
  put("droplog_http", "app_message", http::encode_app_message(text("app")));
}

void net_seeds() {
  put("hello", "listen", net::encode_hello({42, "127.0.0.1:4000"}));
  put("hello", "no_listen", net::encode_hello({7, ""}));
  bytes stream;
  net::encode_frame(net::encode_hello({42, "127.0.0.1:4000"}), stream);
  net::encode_frame(filexfer::encode(filexfer::content_end{6, 4096}), stream);
  net::encode_frame({}, stream);
  // Settings bytes first (tests/fuzz/framing.cpp): bound 4 * 40 + 1, no
  // first-frame bound, staging 17, reads of 5 bytes.
  put("framing", "three_frames", stream, {40, 0, 16, 4});
  put("framing", "first_bound", stream, {40, 21, 200, 63});
  put("json_body", "object", text(R"({"file_path": "a.bin", "price": 10, "name": "x"})"));
  put("json_body", "nested", text(R"({"a": [1, {"b": [true, null, "s\"]"]}], "c": -1.5e3})"));
  // Found by the fuzzer: a repeated key drops the deeper first value.
  put("json_body", "duplicate_key",
      text(R"({"c": [1, {"b": [true, null, "s\"]"]}], "c": -0.5e6})"));
}

// A request as tests/fuzz/http_request.cpp reads it: flags, token length,
// token, then the raw HTTP request.
void put_request(const std::string& name, std::uint8_t flags, const std::string& token,
                 const std::string& request) {
  bytes b{flags, static_cast<std::uint8_t>(token.size())};
  b.insert(b.end(), token.begin(), token.end());
  b.insert(b.end(), request.begin(), request.end());
  put("http_request", name, b);
}

void http_seeds() {
  const std::string token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  put_request("health", 1, "", "GET /api/health HTTP/1.1\r\nHost: localhost:8080\r\n\r\n");
  put_request("download", 1, token,
              "POST /api/file/download-file HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
              "Origin: http://127.0.0.1:8080\r\nAuthorization: Bearer " +
                token +
                "\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
                "{\"file_id\": \"ab\", \"dest_path\": \"a.bin\"}");
  put_request(
    "set_file", 1, "",
    "GET /api/sets/my%20set/files/3?setCount=2&x=%41 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  put_request("raw_put", 3, "tok",
              "PUT /api/sets/s/raw/0?setCount=1 HTTP/1.1\r\nHost: node:8080\r\n"
              "Authorization: Bearer tok\r\nContent-Length: 3\r\n\r\nabc");
  put_request("proxy", 4, "", "GET /a/../b?q=%zz HTTP/1.1\r\nHost: example.org\r\n\r\n");
  put_request("balance", 1, "",
              "GET /api/wallet/balance?account=42 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n");
}

// The scenarios shipped in scenarios/ (the ones CI runs).
void scenario_seeds() {
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(fs::path(PEERLAB_SOURCE_DIR) / "scenarios"))
    if (e.path().extension() == ".json")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string t((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    put("scenario", f.filename().string(), text(t));
  }
}

// Node configs as docs/live.md shows them.
void node_config_seeds() {
  put("node_config", "provider", text(R"({"name": "alice", "listen": "127.0.0.1:4100",
 "data_dir": "alice-data", "roles": [{"role": "provider", "chunk_size": "1MiB"}],
 "provide": ["movie.mkv", {"path": "/srv/report.pdf", "name": "report-2024.pdf", "price": 0}]})"));
  put("node_config", "downloader", text(R"({"name": "bob", "listen": "127.0.0.1:4101",
 "peers": ["127.0.0.1:4100"], "data_dir": "bob-data",
 "roles": [{"role": "downloader", "chunk_size": "1MiB", "window": "8MiB"}],
 "downloads": [{"hash": "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90",
                "providers": ["127.0.0.1:4100"]}], "exit_when_done": true, "run_for": "30s"})"));
  put("node_config", "dht", text(R"({"name": "dht-b", "listen": "127.0.0.1:0", "data_dir": "b",
 "roles": ["kad", "provider"], "provide": ["shared.bin"], "kad_bootstrap": ["127.0.0.1:4100"],
 "dht_provide": true})"));
  put("node_config", "api",
      text(R"({"name": "shop", "data_dir": "d", "roles": ["provider", "fileset"],
 "api": {"listen": "127.0.0.1:8101", "provide_dirs": ["shared"], "download_dir": "dl",
         "ledger": 42, "ledger_address": "127.0.0.1:4000"},
 "fileset_http": "127.0.0.1:8102", "plaintext": true})"));
}

// Control-channel lines as the testbed writes them (apps/peerlab/node_control.hpp).
void control_line_seeds() {
  put(
    "control_line", "download",
    text(
      R"({"id":7,"role":"downloader","verb":"download","args":["2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90","1823294464641830164"]})"));
  put("control_line", "bootstrap", text(R"({"id":1,"role":"kad","verb":"bootstrap"})"));
  put("control_line", "hex_arg",
      text(R"({"id":9,"role":"droplog","verb":"send","args":["42",{"hex":"ff00a1"}]})"));
}

// Gateway sides as docs/live.md shows them.
void drop_gateway_config_seeds() {
  put("drop_gateway_config", "side_a", text(R"({"side": "a", "name": "office", "peer": "home",
 "out_dir": "to-home", "in_dir": "from-home", "state_db": "a.db", "listen": "127.0.0.1:8080",
 "key": "a shared key of at least 16 bytes", "request_timeout": "30s", "max_body": "64MiB"})"));
  put("drop_gateway_config", "side_b", text(R"({"side": "b", "name": "home", "peer": "office",
 "out_dir": "to-office", "in_dir": "from-office", "upstream": "http://127.0.0.1:8000",
 "key": "a shared key of at least 16 bytes", "poll_interval": "5ms", "initial_rtt": "100ms",
 "max_ack_delay": "10ms", "upstream_timeout": "60s", "timeouts": "adaptive"})"));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_corpus DIR\n");
    return 2;
  }
  root = argv[1];
  filexfer_seeds();
  kad_seeds();
  ledger_seeds();
  market_seeds();
  proxy_seeds();
  gossip_seeds();
  fileset_seeds();
  merkle_seeds();
  droplog_seeds();
  net_seeds();
  http_seeds();
  scenario_seeds();
  node_config_seeds();
  drop_gateway_config_seeds();
  control_line_seeds();
  return 0;
}
