#include "apps/peerlab/set_command.hpp"
#include "net/private_file.hpp"

#include "apps/peerlab/args.hpp"

#include "net/fileset_client.hpp"
#include "protocols/fileset/codec.hpp"
#include "protocols/merkle/merkle.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace peerlab::net {

namespace {

using namespace setclient;

const char* const url_note =
  "URL: http://IP:PORT of a node's REST API. FILE (--db) default: $PEERLAB_SET_DB or\n"
  "~/.peerlab/sets.db.";

const app::command_help set_help{
  "set",
  "upload|get|list [options]",
  "The client of replicated file sets: upload, fetch with Merkle proofs, list.",
  {},
  "subcommands (peerlab set SUBCOMMAND --help for each):\n"
  "  upload  --node URL --set ID --token-file FILE [--db FILE] [--raw | --json] FOLDER\n"
  "  get     --node URL --set ID --index I --out FILE [--db FILE] [--raw]\n"
  "  list    [--db FILE]\n" +
    std::string(url_note) + "\nExit 1 means the node refused or a verification failed."};

const app::option_help db_option{"db", "FILE", "the client's record of uploaded sets"};
const app::option_help node_option{"node", "URL", "the node's REST API, http://IP:PORT (required)"};
const app::option_help set_option{"set", "ID", "the set id, 1..64 of [A-Za-z0-9._-] (required)"};

const app::command_help upload_help{
  "set upload",
  "--node URL --set ID [options] FOLDER",
  "Uploads every regular file of FOLDER (sorted by name) and records the Merkle root.",
  {node_option,
   set_option,
   {"token-file", "FILE", "the node's API token (its data_dir/api.token): uploads need it"},
   db_option,
   {"raw", "", "send every file as raw bytes (default: JSON up to 256 KiB)"},
   {"json", "", "send every file as JSON, as the seed document does"}},
  url_note};

const app::command_help get_help{
  "set get",
  "--node URL --set ID --index I --out FILE [options]",
  "Downloads one file with its proof and verifies it against the recorded root.",
  {node_option,
   set_option,
   {"index", "I", "the file's index in the set (required)"},
   {"out", "FILE", "where the verified file is written (required)"},
   db_option,
   {"raw", "", "use the raw route (proof in headers)"}},
  std::string(url_note) + "\nA file that fails verification is never written (exit 1)."};

const app::command_help list_help{"set list",
                                  "[options]",
                                  "Lists the sets recorded in the client's database.",
                                  {db_option},
                                  url_note};

/// Largest file the client sends or accepts (the node has its own bound).
constexpr std::uint64_t max_client_file = 64ull << 20;
/// Files up to this size go through the seed's JSON route, larger ones raw.
constexpr std::uint64_t json_upload_max = 256u << 10;
constexpr time_us request_timeout = 60 * us_per_s;

/// The node refused, or what it sent does not verify: exit 1.
struct set_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using app::usage_error;

struct options {
  std::string node, set, out, folder, token;
  std::optional<std::uint64_t> index;
  std::filesystem::path db = default_db_path();
  bool raw = false, json = false;
};

options parse(const app::args& a, const std::string& sub) {
  options o;
  if (auto db = a.value("db"))
    o.db = *db;
  o.raw = a.flag("raw");
  o.json = a.flag("json");
  if (o.raw && o.json)
    throw usage_error("--raw and --json exclude each other");
  const std::size_t positional = sub == "upload" ? 1 : 0;
  if (a.positional().size() > positional)
    throw usage_error("unexpected argument \"" + a.positional()[positional] + "\"");
  if (sub == "list")
    return o;
  o.node = a.required("node");
  o.set = a.required("set");
  if (!fileset::valid_set_id(o.set))
    throw usage_error("--set must be 1..64 characters of [A-Za-z0-9._-]");
  if (sub == "upload") {
    if (auto f = a.value("token-file")) {
      try { // the same checks as the node's own: no link, owner-only
        auto t = net::read_private_file(*f, "--token-file", 4096);
        if (!t)
          throw usage_error("--token-file " + *f + ": no such file");
        o.token = t->substr(0, t->find_first_of("\r\n"));
      } catch (const std::runtime_error& e) {
        throw usage_error(e.what());
      }
    }
    if (a.positional().empty())
      throw usage_error("upload needs a FOLDER");
    o.folder = a.positional()[0];
  } else {
    o.index = a.count("index");
    if (!o.index)
      throw usage_error("option --index I is required");
    o.out = a.required("out");
  }
  return o;
}

node_url url_of(const std::string& text) {
  std::string err;
  auto u = parse_url(text, err);
  if (!u)
    throw usage_error("--node: " + err);
  return *u;
}

std::string error_of(const http_reply& r) {
  try {
    auto j = nlohmann::json::parse(r.body);
    if (j.is_object() && j.contains("error") && j["error"].is_string())
      return j["error"].get<std::string>();
  } catch (const std::exception&) {
  }
  return r.body.substr(0, 200);
}

bytes read_all(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f)
    throw std::runtime_error(p.string() + ": cannot read");
  return bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int upload(const options& o) {
  auto url = url_of(o.node);
  url.token = o.token;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(o.folder, ec))
    if (e.is_regular_file())
      files.push_back(e.path());
  if (ec)
    throw usage_error(o.folder + ": cannot list: " + ec.message());
  if (files.empty())
    throw usage_error(o.folder + ": no regular files to upload");
  if (files.size() > fileset::limits::set_files_max)
    throw usage_error(o.folder + ": more than 65536 files");
  std::sort(files.begin(), files.end(),
            [](auto& a, auto& b) { return a.filename().string() < b.filename().string(); });

  // The root is computed here, from the files, before anything is sent.
  merkle::tree tree;
  std::vector<digest> leaves;
  for (auto& f : files) {
    auto size = std::filesystem::file_size(f, ec);
    if (ec || size > max_client_file)
      throw usage_error(f.string() + ": unreadable or larger than 64 MiB");
    auto content = read_all(f);
    leaves.push_back(merkle::leaf_hash(content));
    tree.append_hash(leaves.back());
  }
  stored_set rec{o.set, files.size(), tree.root(), o.node,
                 std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()};
  set_db db(o.db);
  if (auto old = db.get(o.set); old && (old->size != rec.size || old->root != rec.root))
    throw set_failed("set " + o.set + " is already recorded in " + o.db.string() +
                     " with another content (root 0x" + to_hex(old->root) +
                     "); use another set id");

  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t bytes_sent = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto content = read_all(files[i]);
    bytes_sent += content.size();
    const bool raw = o.raw || (!o.json && content.size() > json_upload_max);
    const std::string base = "/api/sets/" + o.set + "/";
    http_reply r;
    if (raw) {
      r = http_request(
        url, "PUT", base + "raw/" + std::to_string(i) + "?setCount=" + std::to_string(files.size()),
        std::string(content.begin(), content.end()), "application/octet-stream", 1 << 20,
        request_timeout);
    } else {
      nlohmann::json body{{"content", "0x" + to_hex(byte_view{content.data(), content.size()})},
                          {"setCount", files.size()}};
      r = http_request(url, "POST", base + "files/" + std::to_string(i), body.dump(),
                       "application/json", 1 << 20, request_timeout);
    }
    if (r.status != 200)
      throw set_failed(files[i].filename().string() + " (index " + std::to_string(i) +
                       "): node answered " + std::to_string(r.status) + ": " + error_of(r));
    std::string hash;
    try {
      hash = nlohmann::json::parse(r.body).at("hash").get<std::string>();
    } catch (const std::exception&) {
    }
    if (hash != to_hex(leaves[i]))
      throw set_failed(files[i].filename().string() + ": the node's hash \"" + hash +
                       "\" differs from the local leaf hash " + to_hex(leaves[i]));
  }
  const double secs = seconds_since(t0);
  db.put(rec);
  std::printf(
    "uploaded %zu files (%llu bytes) as set %s in %.3f s (%.1f MiB/s)\nroot 0x%s recorded in %s\n",
    files.size(), static_cast<unsigned long long>(bytes_sent), o.set.c_str(), secs,
    secs > 0 ? static_cast<double>(bytes_sent) / (1 << 20) / secs : 0.0, to_hex(rec.root).c_str(),
    o.db.string().c_str());
  return 0;
}

int get(const options& o) {
  auto url = url_of(o.node);
  set_db db(o.db);
  auto rec = db.get(o.set);
  if (!rec)
    throw set_failed("set " + o.set + " is not recorded in " + o.db.string() +
                     " (only sets uploaded with `peerlab set upload` can be verified)");
  const auto index = *o.index;
  const std::string target =
    "/api/sets/" + o.set + (o.raw ? "/raw/" : "/files/") + std::to_string(index);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = http_request(url, "GET", target, "", "",
                        o.raw ? max_client_file : 2 * max_client_file + (1 << 20), request_timeout);
  if (r.status != 200)
    throw set_failed("node answered " + std::to_string(r.status) + ": " + error_of(r));
  std::string err;
  auto d = o.raw ? parse_raw_download(r, err) : parse_json_download(r.body, err);
  if (!d)
    throw set_failed("bad answer: " + err);
  if (auto why = verify_download(*d, index, *rec); !why.empty()) {
    std::fprintf(stderr, "peerlab set get: verification failed: %s; %s was not written\n",
                 why.c_str(), o.out.c_str());
    return 1;
  }
  write_file_atomically(o.out, d->content);
  const double secs = seconds_since(t0);
  std::printf(
    "verified index %llu of set %s (%zu bytes, proof of %zu hashes, root 0x%s) in %.3f s -> %s\n",
    static_cast<unsigned long long>(index), o.set.c_str(), d->content.size(), d->proof.size(),
    to_hex(rec->root).c_str(), secs, o.out.c_str());
  return 0;
}

int list(const options& o) {
  set_db db(o.db);
  auto rows = db.list();
  std::printf("%-24s %8s  %-66s  %s\n", "set", "files", "root", "uploaded to");
  for (auto& s : rows)
    std::printf("%-24s %8llu  0x%s  %s\n", s.id.c_str(), static_cast<unsigned long long>(s.size),
                to_hex(s.root).c_str(), s.node.c_str());
  return 0;
}

} // namespace

int set_command(int argc, char** argv) {
  const std::string sub = argc >= 2 ? argv[1] : "";
  const app::command_help* help = sub == "upload" ? &upload_help
                                  : sub == "get"  ? &get_help
                                  : sub == "list" ? &list_help
                                                  : nullptr;
  if (!help) // `peerlab set --help`, or no or an unknown subcommand
    return app::run_parsed(set_help, argc, argv, [&](const app::args&) -> int {
      throw usage_error(sub.empty() ? "needs a subcommand: upload, get or list"
                                    : "unknown subcommand \"" + sub + "\"");
    });
  return app::run_parsed(
    *help, argc, argv,
    [&](const app::args& a) {
      auto o = parse(a, sub);
      try {
        return sub == "upload" ? upload(o) : sub == "get" ? get(o) : list(o);
      } catch (const set_failed& e) {
        std::fprintf(stderr, "peerlab set %s: %s\n", sub.c_str(), e.what());
        return app::exit_code::failed;
      }
    },
    2);
}

} // namespace peerlab::net
