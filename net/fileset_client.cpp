#include "net/fileset_client.hpp"

#include "protocols/merkle/merkle.hpp"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <cstdlib>
#include <fstream>

namespace peerlab::net::setclient {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

void check(int rc, sqlite3* db, const std::string& file, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(file + ": " + what + ": " + sqlite3_errmsg(db));
}

struct statement {
  statement(sqlite3* db, const std::string& file, const char* sql) : db_(db) {
    check(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), db, file, "prepare");
  }
  ~statement() { sqlite3_finalize(s); }
  sqlite3* db_;
  sqlite3_stmt* s = nullptr;
};

stored_set row_of(sqlite3_stmt* s) {
  stored_set r;
  r.id = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  r.size = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
  if (auto d = digest_from_hex(reinterpret_cast<const char*>(sqlite3_column_text(s, 2))))
    r.root = *d;
  r.node = reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
  r.uploaded_at = sqlite3_column_int64(s, 4);
  return r;
}

} // namespace

set_db::set_db(const std::filesystem::path& file) : file_(file.string()) {
  std::error_code ec;
  if (file.has_parent_path())
    std::filesystem::create_directories(file.parent_path(), ec);
  if (sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(file_ + ": cannot open: " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  char* err = nullptr;
  if (sqlite3_exec(
        db_,
        "CREATE TABLE IF NOT EXISTS sets(set_id TEXT PRIMARY KEY, size INTEGER NOT NULL, "
        "root TEXT NOT NULL, node TEXT NOT NULL, uploaded_at INTEGER NOT NULL)",
        nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(file_ + ": " + msg);
  }
}

set_db::~set_db() { sqlite3_close(db_); }

std::optional<stored_set> set_db::get(const std::string& id) const {
  statement st(db_, file_,
               "SELECT set_id, size, root, node, uploaded_at FROM sets WHERE set_id = ?");
  sqlite3_bind_text(st.s, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(st.s);
  check(rc, db_, file_, "read");
  if (rc != SQLITE_ROW)
    return std::nullopt;
  return row_of(st.s);
}

void set_db::put(const stored_set& s) {
  statement st(
    db_, file_,
    "INSERT OR REPLACE INTO sets(set_id, size, root, node, uploaded_at) VALUES(?, ?, ?, ?, ?)");
  auto root = to_hex(s.root);
  sqlite3_bind_text(st.s, 1, s.id.data(), static_cast<int>(s.id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(s.size));
  sqlite3_bind_text(st.s, 3, root.data(), static_cast<int>(root.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 4, s.node.data(), static_cast<int>(s.node.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 5, s.uploaded_at);
  check(sqlite3_step(st.s), db_, file_, "write");
}

std::vector<stored_set> set_db::list() const {
  statement st(db_, file_,
               "SELECT set_id, size, root, node, uploaded_at FROM sets ORDER BY set_id");
  std::vector<stored_set> out;
  for (int rc; (rc = sqlite3_step(st.s)) == SQLITE_ROW;)
    out.push_back(row_of(st.s));
  return out;
}

std::filesystem::path default_db_path() {
  if (const char* p = std::getenv("PEERLAB_SET_DB"); p && *p)
    return p;
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::filesystem::path(h) / ".peerlab" / "sets.db";
  return "peerlab-sets.db";
}

std::optional<node_url> parse_url(const std::string& text, std::string& error) {
  std::string_view t = text;
  if (!t.starts_with("http://")) {
    error = "the node URL must start with http:// (e.g. http://127.0.0.1:8080)";
    return std::nullopt;
  }
  t.remove_prefix(7);
  if (t.ends_with('/'))
    t.remove_suffix(1);
  std::string_view host;
  std::string_view port;
  if (t.starts_with('[')) {
    auto close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      error = "expected http://[ipv6]:port";
      return std::nullopt;
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos) {
      error = "the node URL needs a port (http://host:port)";
      return std::nullopt;
    }
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  boost::system::error_code ec;
  asio::ip::make_address(std::string(host), ec);
  if (ec) {
    error = "the host must be an IP address, not \"" + std::string(host) + "\"";
    return std::nullopt;
  }
  unsigned long p = 0;
  try {
    std::size_t used = 0;
    p = std::stoul(std::string(port), &used);
    if (used != port.size() || p == 0 || p > 65535)
      throw std::invalid_argument("port");
  } catch (const std::exception&) {
    error = "bad port \"" + std::string(port) + "\"";
    return std::nullopt;
  }
  return node_url{std::string(host), static_cast<std::uint16_t>(p)};
}

http_reply http_request(const node_url& url, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type,
                        std::size_t max_body, time_us timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, url.host + ":" + std::to_string(url.port));
  req.set(http::field::user_agent, "peerlab-set");
  if (!url.token.empty())
    req.set(http::field::authorization, "Bearer " + url.token);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  parser.header_limit(64 * 1024);
  beast::error_code result;
  const char* stage = "connect";
  tcp::endpoint ep(asio::ip::make_address(url.host), url.port);
  stream.expires_after(std::chrono::microseconds(timeout));
  stream.async_connect(ep, [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    stage = "send";
    http::async_write(stream, req, [&](beast::error_code ec2, std::size_t) {
      if (ec2) {
        result = ec2;
        return;
      }
      stage = "read";
      http::async_read(stream, buffer, parser,
                       [&](beast::error_code ec3, std::size_t) { result = ec3; });
    });
  });
  ioc.run();
  const std::string where = "http://" + url.host + ":" + std::to_string(url.port) + target;
  if (result == http::error::body_limit)
    throw std::runtime_error(where + ": answer larger than " + std::to_string(max_body) + " bytes");
  if (result == beast::error::timeout)
    throw std::runtime_error(where + ": timed out (" + stage + ")");
  if (result)
    throw std::runtime_error(where + ": " + stage + " failed: " + result.message());
  http_reply r;
  auto& res = parser.get();
  r.status = res.result_int();
  r.body = std::move(res.body());
  for (auto& h : res) {
    std::string name(h.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(h.value());
  }
  return r;
}

std::optional<download> parse_json_download(const std::string& body, std::string& error) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) { // also out_of_range: a number too large
    error = "the answer is not JSON";
    return std::nullopt;
  }
  auto bad = [&](const char* what) -> std::optional<download> {
    error = std::string("the answer has no valid ") + what;
    return std::nullopt;
  };
  if (!j.is_object() || !j.contains("file") || !j["file"].is_string())
    return bad("\"file\" (hex string)");
  if (!j.contains("proof") || !j["proof"].is_object())
    return bad("\"proof\" object");
  auto& p = j["proof"];
  if (!p.contains("proof") || !p["proof"].is_array() ||
      p["proof"].size() > merkle::max_proof_hashes)
    return bad("\"proof.proof\" (array of at most 64 hashes)");
  if (!p.contains("index") || !p["index"].is_number_unsigned())
    return bad("\"proof.index\"");
  download d;
  auto content = bytes_from_hex(j["file"].get<std::string>());
  if (!content)
    return bad("\"file\" (hex string)");
  d.content = std::move(*content);
  d.index = p["index"].get<std::uint64_t>();
  for (auto& h : p["proof"]) {
    auto dg = h.is_string() ? digest_from_hex(h.get<std::string>()) : std::nullopt;
    if (!dg)
      return bad("\"proof.proof\" hash (0x + 64 hex digits)");
    d.proof.push_back(*dg);
  }
  if (j.contains("treeSize")) {
    if (!j["treeSize"].is_number_unsigned())
      return bad("\"treeSize\"");
    d.tree_size = j["treeSize"].get<std::uint64_t>();
  }
  return d;
}

std::optional<download> parse_raw_download(const http_reply& reply, std::string& error) {
  auto header = [&](const char* k) -> const std::string* {
    auto it = reply.headers.find(k);
    return it == reply.headers.end() ? nullptr : &it->second;
  };
  auto* idx = header("x-proof-index");
  auto* size = header("x-tree-size");
  auto* proof = header("x-proof");
  if (!idx || !size || !proof) {
    error = "the answer lacks the X-Proof, X-Proof-Index or X-Tree-Size header";
    return std::nullopt;
  }
  download d;
  try {
    std::size_t used = 0;
    d.index = std::stoull(*idx, &used);
    if (used != idx->size())
      throw std::invalid_argument("index");
    d.tree_size = std::stoull(*size, &used);
    if (used != size->size())
      throw std::invalid_argument("size");
  } catch (const std::exception&) {
    error = "X-Proof-Index or X-Tree-Size is not a number";
    return std::nullopt;
  }
  std::string_view p = *proof;
  for (std::size_t pos = 0; pos < p.size();) {
    auto comma = p.find(',', pos);
    if (comma == std::string_view::npos)
      comma = p.size();
    auto dg = digest_from_hex(p.substr(pos, comma - pos));
    if (!dg || d.proof.size() >= merkle::max_proof_hashes) {
      error = "X-Proof is not a list of 0x-hex hashes";
      return std::nullopt;
    }
    d.proof.push_back(*dg);
    pos = comma + 1;
  }
  d.content.assign(reply.body.begin(), reply.body.end());
  return d;
}

std::string verify_download(const download& d, std::uint64_t index, const stored_set& set) {
  if (index >= set.size)
    return "index " + std::to_string(index) + " is out of range: set " + set.id + " has " +
           std::to_string(set.size) + " files";
  if (d.index != index)
    return "the node answered index " + std::to_string(d.index) + " for requested index " +
           std::to_string(index);
  if (d.tree_size && *d.tree_size != set.size)
    return "the node's tree size " + std::to_string(*d.tree_size) +
           " differs from the stored set size " + std::to_string(set.size);
  // Verified with the client's own index, size and root, never the node's.
  auto e =
    merkle::check_inclusion(merkle::leaf_hash(d.content), index, set.size, d.proof, set.root);
  if (e != merkle::verify_error::none)
    return std::string("the inclusion proof does not verify against the stored root (") +
           merkle::to_string(e) + ")";
  return {};
}

void write_file_atomically(const std::filesystem::path& out, const bytes& content) {
  auto tmp = out;
  tmp += ".part";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      throw std::runtime_error(out.string() + ": cannot write");
    f.write(reinterpret_cast<const char*>(content.data()),
            static_cast<std::streamsize>(content.size()));
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw std::runtime_error(out.string() + ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, out, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error(out.string() + ": cannot rename into place: " + ec.message());
  }
}

} // namespace peerlab::net::setclient
