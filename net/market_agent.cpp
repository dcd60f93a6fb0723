#include "net/market_agent.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"
#include "protocols/ledger/codec.hpp"
#include "protocols/market/tables.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <sys/stat.h>

namespace peerlab::net {

namespace {

using nlohmann::json;

// Rows of older node files held JSON {path, name, price, size, mtime_ns}.
std::optional<row> provided_path_from_json(std::string_view k, std::string_view v) {
  auto hash = digest_from_hex(k);
  auto j = json::parse(v, nullptr, false);
  if (!hash || !j.is_object() || !j.contains("path") || !j["path"].is_string() ||
      !j.contains("size") || !j["size"].is_number_unsigned() || !j.contains("mtime_ns") ||
      !j["mtime_ns"].is_number_integer())
    return std::nullopt;
  return row{cell_digest(*hash),
             j["path"].get<std::string>(),
             j.value("name", std::string()),
             cell_u64(j.value("price", std::uint64_t{0})),
             cell_u64(j["size"].get<std::uint64_t>()),
             j["mtime_ns"].get<std::int64_t>()};
}
namespace fs = std::filesystem;

template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

// Row fields that hold amounts, sizes or times print as JSON numbers; ids
// (peers, nonces, transactions) stay strings: they may not fit a double.
bool numeric_field(std::string_view k) {
  static const char* names[] = {"amount", "from",  "to",         "paying", "size",
                                "price",  "sales", "paid_sales", "bytes",  "deadline"};
  for (auto* n : names)
    if (k == n)
      return true;
  return k.ends_with("_at") || k.ends_with("_us");
}

/// A typed row of the market tables as a JSON object: blobs in hex, amounts,
/// sizes and times as numbers, ids as decimal strings.
json row_json(const table_schema& t, const row& r) {
  json j = json::object();
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    auto& name = t.columns[i].name;
    auto& c = r.cells[i];
    if (auto* n = std::get_if<std::int64_t>(&c)) {
      bool is_signed = name.ends_with("_at") || name.ends_with("_us") || name == "deadline";
      auto u = static_cast<std::uint64_t>(*n);
      if (numeric_field(name) && is_signed && *n > -(1ll << 53) && *n < (1ll << 53))
        j[name] = *n;
      else if (numeric_field(name) && !is_signed && u < (1ull << 53))
        j[name] = u;
      else
        j[name] = is_signed ? std::to_string(*n) : std::to_string(u);
    } else if (auto* s = std::get_if<std::string>(&c)) {
      j[name] = *s;
    } else if (auto* b = std::get_if<bytes>(&c)) {
      j[name] = to_hex(byte_view{b->data(), b->size()});
    } else {
      j[name] = std::get<double>(c);
    }
  }
  return j;
}

} // namespace

std::optional<file_stamp> stamp_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  return file_stamp{static_cast<std::uint64_t>(st.st_size),
                    static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                      st.st_mtim.tv_nsec};
}

market_agent::market_agent(market_agent_config cfg, disk_content& files)
    : cfg_(std::move(cfg)), files_(files) {}

const char* market_agent::message_name(std::uint8_t t) const { return ledger::message_name(t); }

const table_schema& provided_paths_table() {
  static const table_schema s = [] {
    table_schema t{"ProvidedPaths",
                   {{"hash", column_type::blob, 32},
                    {"path", column_type::text},
                    {"name", column_type::text},
                    {"price", column_type::integer},
                    {"size", column_type::integer},
                    {"mtime_ns", column_type::integer}},
                   1,
                   1,
                   1u << 20};
    t.legacy_table = "ProvidedPaths";
    t.from_legacy = provided_path_from_json;
    return t;
  }();
  return s;
}

std::vector<const table_schema*> market_agent::tables() const { return {&provided_paths_table()}; }

void market_agent::start(context& ctx, effects& fx) {
  balance_asks_.clear(); // answers to asks from before a restart are not awaited
  next_req_ = ctx.random.next() >> 16;
  if (cfg_.ledger != 0 && !cfg_.ledger_address.empty())
    fx.learn_address(cfg_.ledger, cfg_.ledger_address);
  restore(ctx, fx);
}

void market_agent::restore(context& ctx, effects& fx) {
  ctx.store.scan(provided_paths_table(), {}, [&](const row& r) {
    auto hash = r.hash(0);
    auto key = to_hex(hash);
    fs::path path = r.text(1);
    auto st = stamp_of(path);
    file_stamp want{r.u64(4), r.integer(5)};
    bool ok = st && *st == want;
    std::string why = !st ? "the file is gone" : "the file changed since it was hashed";
    if (ok) {
      try {
        files_.serve_hashed(path, file_info{hash, r.text(2), want.size, r.u64(3)});
      } catch (const std::exception& e) {
        ok = false;
        why = e.what();
      }
    }
    if (ok) {
      fx.emit(event{"api_provide_restored", 0, {{"hash", key}, {"path", path.string()}}, {}});
      return;
    }
    ctx.store.erase(provided_paths_table(), {cell_digest(hash)});
    fx.emit(event{"api_provide_dropped", 0, {{"hash", key}, {"reason", why}}, {}});
  });
}

namespace agent {

void provide_path::describe(std::string& out) const {
  describe_arg(out, path);
  describe_arg(out, name);
  describe_arg(out, price);
  describe_arg(out, to_hex(hash));
  describe_arg(out, size);
  describe_arg(out, std::to_string(mtime_ns));
}
void unprovide_file::describe(std::string& out) const { describe_arg(out, to_hex(hash)); }

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& a,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  if (a.size() > limits::command_args_max)
    return bad("too many arguments");
  if (verb == provide_path::verb) {
    if (a.size() != 6)
      return bad("provide needs PATH NAME PRICE HASH SIZE MTIME_NS");
    auto price = parse_int<std::uint64_t>(a[2]);
    auto hash = digest_from_hex(a[3]);
    auto size = parse_int<std::uint64_t>(a[4]);
    auto mtime = parse_int<std::int64_t>(a[5]);
    if (!fs::path(a[0]).is_absolute() || !price || !hash || !size || !mtime)
      return bad("provide: bad arguments (absolute path, decimal price, 64-hex hash, size, mtime)");
    if (a[1].size() > limits::file_name_max)
      return bad("provide: name longer than " + std::to_string(limits::file_name_max) + " bytes");
    return provide_path{a[0], a[1], *price, *hash, *size, *mtime};
  }
  if (verb == unprovide_file::verb) {
    std::optional<digest> hash;
    if (a.size() == 1)
      hash = digest_from_hex(a[0]);
    if (!hash)
      return bad("unprovide needs a 64-hex SHA-256");
    return unprovide_file{*hash};
  }
  if (verb == "provided" || verb == "downloads" || verb == "payments") {
    if (!a.empty())
      return bad(std::string(verb) + " takes no arguments");
    return list_rows{std::string(verb)};
  }
  if (verb == balance_of::verb) {
    if (a.size() > 1)
      return bad("balance takes at most one account");
    balance_of b;
    if (a.size() == 1) {
      auto acc = parse_int<std::uint64_t>(a[0]);
      if (!acc)
        return bad("account must be a decimal node id, got \"" + quote_arg(a[0], 40) + "\"");
      b.account = *acc;
    }
    return b;
  }
  return bad("the market agent knows provide, unprovide, provided, downloads, payments, balance");
}

} // namespace agent

std::optional<peerlab::command> market_agent::parse_command(std::uint64_t id, std::string_view verb,
                                                            const std::vector<std::string>& args,
                                                            command_error& err) const {
  auto c = agent::parse_command(verb, args, err);
  if (!c)
    return std::nullopt;
  return peerlab::command(id, std::move(*c));
}

void market_agent::command(context& ctx, const peerlab::command& c, effects& fx) {
  auto* body = c.as<agent::command>();
  if (!body)
    return fx.fail(c, fail_code::bad_request,
                   "the market agent knows provide, unprovide, provided, downloads, payments, "
                   "balance");
  std::visit(
    [&](const auto& cmd) {
      using T = std::decay_t<decltype(cmd)>;
      if constexpr (std::is_same_v<T, agent::provide_path>)
        provide(ctx, c, cmd, fx);
      else if constexpr (std::is_same_v<T, agent::unprovide_file>)
        unprovide(ctx, c, cmd, fx);
      else if constexpr (std::is_same_v<T, agent::list_rows>)
        list(ctx, c, cmd, fx);
      else
        balance(ctx, c, cmd, fx);
    },
    *body);
}

void market_agent::provide(context& ctx, const peerlab::command& c, const agent::provide_path& p,
                           effects& fx) {
  fs::path path = p.path;
  auto st = stamp_of(path);
  if (!st || *st != file_stamp{p.size, p.mtime_ns})
    return fx.fail(c, fail_code::conflict,
                   path.string() + " changed while it was hashed; provide it again");
  file_info info;
  try {
    info = files_.serve_hashed(path, file_info{p.hash, p.name, p.size, p.price});
  } catch (const std::exception& e) {
    return fx.fail(c, fail_code::conflict, e.what());
  }
  ctx.store.put(provided_paths_table(), {cell_digest(info.hash), path.string(), info.name,
                                         cell_u64(info.price), cell_u64(info.size), p.mtime_ns});
  fx.emit(
    event{"api_provided",
          c.id,
          {{"hash", to_hex(info.hash)}, {"name", info.name}, {"path", path.string()}},
          {{"size", static_cast<double>(info.size)}, {"price", static_cast<double>(info.price)}}});
}

void market_agent::unprovide(context& ctx, const peerlab::command& c,
                             const agent::unprovide_file& u, effects& fx) {
  const digest* hash = &u.hash;
  if (!files_.unprovide(*hash))
    return fx.fail(c, fail_code::not_found, "this node does not provide " + to_hex(*hash));
  ctx.store.erase(provided_paths_table(), {cell_digest(*hash)});
  fx.emit(event{"api_unprovided", c.id, {{"hash", to_hex(*hash)}}, {}});
}

void market_agent::list(context& ctx, const peerlab::command& c, const agent::list_rows& q,
                        effects& fx) {
  json out = json::array();
  std::size_t total = 0;
  auto keep = [&](json j) {
    if (++total <= cfg_.max_list)
      out.push_back(std::move(j));
  };
  if (q.verb == "provided") {
    // What is served now, with the sales the payment gate counted.
    const auto downloads = files_.downloads_dir().lexically_normal().string() + "/";
    for (auto& f : files_.served_files()) {
      auto key = to_hex(f.info.hash);
      json j{{"hash", key},
             {"name", f.info.name},
             {"size", f.info.size},
             {"price", f.info.price},
             {"path", f.path.string()}};
      if (ctx.store.get(provided_paths_table(), {cell_digest(f.info.hash)}))
        j["source"] = "api";
      else if (f.path.lexically_normal().string().starts_with(downloads))
        j["source"] = "download";
      else
        j["source"] = "config";
      auto sold = ctx.store.get(market::tables::provided_files(), {cell_digest(f.info.hash)});
      j["sales"] = sold ? sold->u64(4) : 0;
      j["paid_sales"] = sold ? sold->u64(5) : 0;
      keep(std::move(j));
    }
  } else if (q.verb == "downloads") {
    ctx.store.scan(market::tables::download_files(), {}, [&](const row& r) {
      if (total >= cfg_.max_list) {
        ++total;
        return;
      }
      keep(row_json(market::tables::download_files(), r));
    });
  } else {
    ctx.store.scan(market::tables::payments(), {}, [&](const row& r) {
      if (total >= cfg_.max_list) {
        ++total;
        return;
      }
      keep(row_json(market::tables::payments(), r));
    });
  }
  fx.emit(
    event{"api_list",
          c.id,
          {{"table", q.verb}, {"json", out.dump()}},
          {{"count", static_cast<double>(out.size())}, {"total", static_cast<double>(total)}}});
}

void market_agent::balance(context& ctx, const peerlab::command& c, const agent::balance_of& q,
                           effects& fx) {
  peer_id account = q.account != 0 ? q.account : ctx.self;
  if (cfg_.ledger == 0)
    return fx.fail(c, fail_code::conflict, "no ledger configured (api.ledger_name or api.ledger)");
  if (balance_asks_.size() >= cfg_.max_balance_asks)
    return fx.fail(c, fail_code::unavailable, "too many balance queries waiting for the ledger");
  auto req = next_req_++;
  balance_asks_[req] = c.id;
  fx.send(cfg_.ledger, ledger::encode(ledger::balance_req{req, ports::api, account}));
  fx.after(cfg_.ledger_timeout, req);
}

void market_agent::frame(context&, peer_id from, byte_view data, effects& fx) {
  auto d = ledger::decode(data);
  auto* b = d.ok() ? std::get_if<ledger::balance_reply>(&d.msg) : nullptr;
  if (!b || from != cfg_.ledger) {
    fx.count("frames_rejected");
    return;
  }
  auto it = balance_asks_.find(b->req_id);
  if (it == balance_asks_.end())
    return; // late: the ask timed out
  fx.emit(event{"api_balance",
                it->second,
                {{"account", std::to_string(b->account)}},
                {{"balance", static_cast<double>(b->balance)},
                 {"pending_out", static_cast<double>(b->pending_out)},
                 {"tip", static_cast<double>(b->tip)}}});
  balance_asks_.erase(it);
}

void market_agent::timer(context&, std::uint64_t token, effects& fx) {
  auto it = balance_asks_.find(token);
  if (it == balance_asks_.end())
    return;
  auto id = it->second;
  balance_asks_.erase(it);
  fx.fail(id, agent::balance_of::verb, fail_code::timeout,
          "the ledger did not answer within " + std::to_string(cfg_.ledger_timeout / us_per_ms) +
            " ms");
}

} // namespace peerlab::net
