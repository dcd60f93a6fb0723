// The file-set REST API on a live node in this process (127.0.0.1, ephemeral
// ports): every error case of the seed's routes, the answers' shapes, and the
// client's verification, which never writes a file that fails.
#include "net/disk_content.hpp"
#include "net/fileset_api.hpp"
#include "net/fileset_client.hpp"
#include "net/live_runtime.hpp"
#include "apps/peerlab/set_command.hpp"
#include "net/sqlite_store.hpp"

#include "protocols/registry.hpp"
#include "protocols/merkle/merkle.hpp"
#include "temp_dir.hpp"
#include "protocols/fileset/fileset.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace peerlab;
using namespace peerlab::net;
using namespace peerlab::net::setclient;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// One live node with the fileset role and its REST API.
class api_node {
public:
  explicit api_node(const std::string& adversary = "", std::uint64_t max_file = 4096)
      : dir_("fileset-api") {
    live_options o;
    o.name = "fileset-api-test-" + adversary;
    o.listen = "127.0.0.1:0";
    o.roles = make_roles(json::array({"fileset"}), "roles", adversary);
    o.store = std::make_unique<sqlite_store>(dir_.path() / "node.db");
    o.content = std::make_unique<disk_content>(dir_.path(), [](const std::string&) {});
    o.on_event = [this](port_t, const event& e) { api_->consume(e); };
    o.on_log = [](const std::string&) {};
    rt_ = std::make_unique<live_runtime>(std::move(o));
    fileset_api_options a;
    a.max_file_bytes = max_file;
    a.reply_timeout = 10 * us_per_s;
    api_ = std::make_unique<fileset_api>(
      a, [this](const command& c) { return rt_->command(ports::fileset, c); },
      [](const std::string&) {});
    rt_->start();
    api_->start();
    std::string err;
    url_ = *parse_url("http://" + api_->address(), err);
  }
  ~api_node() {
    api_->stop();
    rt_->stop();
  }

  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& type = "application/json") {
    return http_request(url_, method, target, body, type, 1 << 20, 10 * us_per_s);
  }
  http_reply post(const std::string& set, const std::string& index, const json& body) {
    return request("POST", "/api/sets/" + set + "/files/" + index, body.dump());
  }
  std::string url() const { return "http://" + api_->address(); }
  const fs::path& dir() const { return dir_.path(); }

private:
  test::temp_dir dir_;
  std::unique_ptr<live_runtime> rt_;
  std::unique_ptr<fileset_api> api_;
  node_url url_;
};

std::string error_of(const http_reply& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>()
                                              : "<no error field: " + r.body + ">";
}

void expect(const http_reply& r, unsigned status, const std::string& words) {
  INFO(r.status << " " << r.body);
  CHECK(r.status == status);
  CHECK(error_of(r).find(words) != std::string::npos);
}

int run_set(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return set_command(static_cast<int>(argv.size()), argv.data());
}

} // namespace

TEST_CASE("fileset REST API: uploads, answers shaped as the seed, index 0, idempotent re-post") {
  api_node n;
  auto r = n.post("seed", "0", {{"content", "0x66696c6531"}, {"setCount", 2}});
  REQUIRE(r.status == 200);
  auto j = json::parse(r.body);
  CHECK(j == json{{"success", true},
                  {"hash", to_hex(merkle::leaf_hash(bytes{'f', 'i', 'l', 'e', '1'}))}});
  CHECK(n.post("seed", "0", {{"content", "0x66696c6531"}, {"setCount", 2}}).status == 200);
  // content without 0x is accepted too
  REQUIRE(n.post("seed", "1", {{"content", "66696c6532"}, {"setCount", 2}}).status == 200);

  auto g = n.request("GET", "/api/sets/seed/files/0");
  REQUIRE(g.status == 200);
  auto d = json::parse(g.body);
  CHECK(d["file"] == "0x66696c6531");
  CHECK(d["proof"]["index"] == 0);
  REQUIRE(d["proof"]["proof"].size() == 1);
  CHECK(d["proof"]["proof"][0] == "0x" + to_hex(merkle::leaf_hash(bytes{'f', 'i', 'l', 'e', '2'})));
  CHECK(d["treeSize"] == 2);
  merkle::tree t;
  t.append(bytes{'f', 'i', 'l', 'e', '1'});
  t.append(bytes{'f', 'i', 'l', 'e', '2'});
  CHECK(d["root"] == "0x" + to_hex(t.root()));

  auto raw = n.request("GET", "/api/sets/seed/raw/1");
  REQUIRE(raw.status == 200);
  CHECK(raw.body == "file2");
  CHECK(raw.headers["content-type"] == "application/octet-stream");
  CHECK(raw.headers["x-proof-index"] == "1");
  CHECK(raw.headers["x-tree-size"] == "2");
  std::string err;
  auto dl = parse_raw_download(raw, err);
  REQUIRE(dl);
  stored_set rec{"seed", 2, t.root(), "", 0};
  CHECK(verify_download(*dl, 1, rec).empty());

  auto st = json::parse(n.request("GET", "/api/sets/seed").body);
  CHECK(st["complete"] == true);
  CHECK(st["setCount"] == 2);
  CHECK(st["stored"] == 2);

  auto put = n.request("PUT", "/api/sets/rawset/raw/0?setCount=1", std::string("\0\1\2", 3),
                       "application/octet-stream");
  REQUIRE(put.status == 200);
  CHECK(json::parse(put.body)["hash"] == to_hex(merkle::leaf_hash(bytes{0, 1, 2})));
  CHECK(n.request("GET", "/api/sets/rawset/raw/0").body == std::string("\0\1\2", 3));
}

TEST_CASE("fileset REST API: every error case gets its status and a JSON error") {
  api_node n; // max_file_bytes 4096
  REQUIRE(n.post("s", "0", {{"content", "0x00"}, {"setCount", 2}}).status == 200);
  expect(n.post("s", "0", {{"content", "0x01"}, {"setCount", 2}}), 409,
         "already holds a different file");
  expect(n.post("s", "1", {{"content", "0x01"}, {"setCount", 3}}), 409, "has 2 files, not 3");
  expect(n.post("s", "2", {{"content", "0x01"}, {"setCount", 2}}), 400,
         "out of range for a set of 2 files");
  expect(n.post("s", "1", {{"content", "0xzz"}, {"setCount", 2}}), 400, "not hex");
  expect(n.post("s", "1", {{"content", "0x123"}, {"setCount", 2}}), 400, "not hex");
  expect(n.post("s", "1", {{"setCount", 2}}), 400, "\"content\" must be a hex string");
  expect(n.post("s", "1", {{"content", 5}, {"setCount", 2}}), 400,
         "\"content\" must be a hex string");
  expect(n.post("s", "1", {{"content", "0x01"}}), 400, "\"setCount\" must be an integer");
  expect(n.post("s", "1", {{"content", "0x01"}, {"setCount", "2"}}), 400,
         "\"setCount\" must be an integer");
  expect(n.post("s", "1", {{"content", "0x01"}, {"setCount", 0}}), 400,
         "setCount must be an integer from 1 to 65536");
  expect(n.post("s", "1", {{"content", "0x01"}, {"setCount", 70000}}), 400,
         "setCount must be an integer from 1 to 65536");
  expect(n.post("s", "x", {{"content", "0x01"}, {"setCount", 2}}), 400,
         "not a non-negative integer");
  expect(n.post("s", "-1", {{"content", "0x01"}, {"setCount", 2}}), 400,
         "not a non-negative integer");
  expect(n.post("bad!id", "0", {{"content", "0x01"}, {"setCount", 2}}), 400, "set id");
  expect(n.request("POST", "/api/sets/s/files/1", "not json"), 400, "body is not valid JSON");
  expect(n.request("POST", "/api/sets/s/files/1", std::string(40000, '[')), 400,
         "deeper than 32 levels");
  expect(n.request("POST", "/api/sets/s/files/1", "[1,2]"), 400, "must be a JSON object");
  // Bodies above the bounds: JSON 2 x 4096 + 64 KiB, raw 4096.
  json big{{"content", "0x" + std::string(2 * 40000, 'a')}, {"setCount", 2}};
  expect(n.post("s", "1", big), 413, "larger than allowed");
  expect(n.request("PUT", "/api/sets/s/raw/1?setCount=2", std::string(4097, 'x'),
                   "application/octet-stream"),
         413, "larger than allowed");
  // A file within the body bound but above the node's max_file_bytes (16 MiB) is
  // refused by the role; here the API bound is the smaller one.
  expect(n.request("PUT", "/api/sets/s/raw/1", "abc", "application/octet-stream"), 400,
         "needs ?setCount=N");
  expect(n.request("GET", "/api/sets/nothing/files/0"), 404, "no set nothing");
  expect(n.request("GET", "/api/sets/s/files/0"), 404, "incomplete on this node (1 of 2 files)");
  expect(n.request("GET", "/api/sets/s/files/7"), 400, "out of range");
  expect(n.request("GET", "/api/sets/nothing"), 404, "no set nothing");
  expect(n.request("GET", "/api/other"), 404, "no route");
  expect(n.request("GET", "/api/sets/s/files/0/extra"), 404, "no route");
  expect(n.request("DELETE", "/api/sets/s/files/0"), 405, "not allowed");
  expect(n.request("PUT", "/api/sets/s/files/0", "{}"), 405, "not allowed");
  // The API still works after every error.
  CHECK(n.post("s", "1", {{"content", "0x01"}, {"setCount", 2}}).status == 200);
  CHECK(n.request("GET", "/api/sets/s/files/1").status == 200);
}

TEST_CASE(
  "fileset client: verification failures are named (wrong index, wrong size, tampered proof)") {
  merkle::tree t;
  std::vector<bytes> files;
  for (int i = 0; i < 5; ++i) {
    files.push_back(bytes(10, static_cast<std::uint8_t>(i)));
    t.append(files.back());
  }
  stored_set rec{"s", 5, t.root(), "", 0};
  download good{files[2], 2, 5, t.inclusion_proof(2, 5)};
  CHECK(verify_download(good, 2, rec).empty());

  auto d = good;
  CHECK(verify_download(d, 7, rec).find("out of range") != std::string::npos);
  d.index = 3; // the node answers another index
  CHECK(verify_download(d, 2, rec).find("answered index 3 for requested index 2") !=
        std::string::npos);
  // a proof for index 3 relabelled as 2 does not verify at 2
  download other{files[3], 2, 5, t.inclusion_proof(3, 5)};
  CHECK(verify_download(other, 2, rec).find("does not verify") != std::string::npos);
  d = good;
  d.tree_size = 6; // the node claims another size
  CHECK(verify_download(d, 2, rec).find("tree size 6 differs from the stored set size 5") !=
        std::string::npos);
  d = good;
  d.proof[0][5] ^= 1; // tampered proof
  CHECK(verify_download(d, 2, rec).find("does not lead to the expected root") != std::string::npos);
  d = good;
  d.proof.pop_back(); // truncated proof
  CHECK(verify_download(d, 2, rec).find("wrong number of hashes") != std::string::npos);
  d = good;
  d.content[0] ^= 1; // tampered file
  CHECK_FALSE(verify_download(d, 2, rec).empty());
  auto wrong_size = rec;
  wrong_size.size = 6; // the client stored another size: the node's answer (5) differs
  CHECK_FALSE(verify_download(good, 2, wrong_size).empty());
  d = good;
  d.tree_size.reset(); // a node without treeSize: the client's own size and root decide
  CHECK(verify_download(d, 2, rec).empty());
  auto bigger = rec;
  bigger.size = 9; // a path length that differs from the node's tree
  CHECK(verify_download(d, 2, bigger).find("wrong number of hashes") != std::string::npos);

  std::string err;
  CHECK_FALSE(parse_json_download("{\"file\": \"0x00\"}", err));
  CHECK(err.find("proof") != std::string::npos);
  CHECK_FALSE(parse_json_download(
    "{\"file\": \"0x00\", \"proof\": {\"proof\": [\"0x12\"], \"index\": 0}}", err));
  CHECK_FALSE(parse_json_download("nope", err));
  // A number too large for a double is nlohmann's out_of_range, not a parse_error.
  CHECK_FALSE(parse_json_download("{\"file\": \"0x00\", \"index\": 1e999}", err));
  CHECK(err == "the answer is not JSON");
}

TEST_CASE("peerlab set: upload, get from honest and lying nodes, a failed file is never written") {
  test::temp_dir dir("fileset-client");
  auto folder = dir.path() / "folder";
  fs::create_directories(folder);
  for (int i = 0; i < 4; ++i)
    std::ofstream(folder / ("f" + std::to_string(i)), std::ios::binary)
      << std::string(100 + i, static_cast<char>('a' + i));
  const auto db = (dir.path() / "sets.db").string();

  api_node honest("", 1 << 20);
  api_node bad_proofs("corrupt_proof", 1 << 20);
  api_node bad_files("corrupt_content", 1 << 20);
  for (auto* n : {&honest, &bad_proofs, &bad_files})
    REQUIRE(run_set({"set", "upload", "--node", n->url(), "--set", "album", "--db", db,
                     folder.string()}) == 0);
  set_db records(db);
  auto rec = records.get("album");
  REQUIRE(rec);
  CHECK(rec->size == 4);

  auto out = dir.path() / "out";
  REQUIRE(run_set({"set", "get", "--node", honest.url(), "--set", "album", "--index", "0", "--out",
                   out.string(), "--db", db}) == 0);
  CHECK(fs::file_size(out) == 100);
  fs::remove(out);
  REQUIRE(run_set({"set", "get", "--node", honest.url(), "--set", "album", "--index", "3", "--out",
                   out.string(), "--db", db, "--raw"}) == 0);
  CHECK(fs::file_size(out) == 103);
  fs::remove(out);
  for (auto* n : {&bad_proofs, &bad_files})
    for (const char* mode : {"--json", "--raw"}) {
      std::vector<std::string> args{"set",     "get", "--node", n->url(),     "--set", "album",
                                    "--index", "2",   "--out",  out.string(), "--db",  db};
      if (std::string(mode) == "--raw")
        args.push_back("--raw");
      CHECK(run_set(args) == 1);
      CHECK_FALSE(fs::exists(out));
      CHECK_FALSE(fs::exists(out.string() + ".part"));
    }
  // Out of range for the stored set: refused without writing.
  CHECK(run_set({"set", "get", "--node", honest.url(), "--set", "album", "--index", "4", "--out",
                 out.string(), "--db", db}) == 1);
  CHECK_FALSE(fs::exists(out));
  // Unknown set in the client's records, bad usage.
  CHECK(run_set({"set", "get", "--node", honest.url(), "--set", "other", "--index", "0", "--out",
                 out.string(), "--db", db}) == 1);
  CHECK(run_set({"set", "get", "--node", "localhost:1", "--set", "album", "--index", "0", "--out",
                 out.string(), "--db", db}) == 2);
  CHECK(run_set({"set", "get", "--node", honest.url(), "--set", "album", "--index", "-1", "--out",
                 out.string(), "--db", db}) == 2);
  CHECK(run_set({"set", "list", "--db", db}) == 0);
  // Uploading other content under a recorded set id is refused.
  std::ofstream(folder / "f0", std::ios::binary) << "changed";
  CHECK(run_set({"set", "upload", "--node", honest.url(), "--set", "album", "--db", db,
                 folder.string()}) == 1);
}
