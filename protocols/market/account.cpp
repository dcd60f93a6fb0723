#include "protocols/market/account.hpp"

#include "protocols/ledger/codec.hpp"
#include "protocols/market/balance_event.hpp"
#include "protocols/market/tables.hpp"

namespace peerlab::market {

namespace {

const char* const verbs_known = "the account knows provide, unprovide, provided, downloads, "
                                "payments, balance";

event list_event(std::uint64_t id, std::string_view table, const table_schema& schema,
                 std::vector<peerlab::row> rows, std::size_t total) {
  event e{"api_list",
          id,
          {{"table", std::string(table)}},
          {{"count", static_cast<double>(rows.size())}, {"total", static_cast<double>(total)}}};
  e.rows_schema = &schema;
  e.rows = std::move(rows);
  return e;
}

// What list_provided answers: a view over the content store, ProvidedPaths
// and ProvidedFiles (not a stored table).
const table_schema& served_view() {
  static const table_schema t{"ServedFiles",
                              {{"hash", column_type::blob, 32},
                               {"name", column_type::text},
                               {"size", column_type::integer},
                               {"price", column_type::integer},
                               {"path", column_type::text},
                               {"source", column_type::text},
                               {"sales", column_type::integer},
                               {"paid_sales", column_type::integer}}};
  return t;
}

} // namespace

account::account(account_config cfg) : cfg_(std::move(cfg)) {}

const char* account::message_name(std::uint8_t t) const { return ledger::message_name(t); }

std::vector<const table_schema*> account::tables() const { return {&tables::provided_paths()}; }

void account::start(context& ctx, effects& fx) {
  balance_asks_.clear(); // answers to asks from before a restart are not awaited
  next_req_ = ctx.random.next() >> 16;
  if (cfg_.ledger && !cfg_.ledger_address.empty())
    fx.learn_address(*cfg_.ledger, cfg_.ledger_address);
  restore(ctx, fx);
}

void account::restore(context& ctx, effects& fx) {
  // Rows are read first: dropping one while the table is scanned is not safe in every store.
  std::vector<peerlab::row> rows;
  ctx.store.scan(tables::provided_paths(), {}, [&](const peerlab::row& r) { rows.push_back(r); });
  for (auto& r : rows) {
    auto hash = r.hash(0);
    auto key = to_hex(hash);
    const auto& path = r.text(1);
    file_stamp want{r.u64(4), r.integer(5)};
    auto now = ctx.content.stamp(path);
    std::string why;
    if (!now)
      why = "the file is gone";
    else if (*now != want)
      why = "the file changed since it was hashed";
    else if (auto s = ctx.content.serve_hashed(
               path, file_info{hash, r.text(2), want.size, r.u64(3)}, want);
             !s.ok())
      why = s.error;
    if (why.empty()) {
      fx.emit(event{"api_provide_restored", 0, {{"hash", key}, {"path", path}}, {}});
      continue;
    }
    ctx.store.erase(tables::provided_paths(), {cell_digest(hash)});
    fx.emit(event{"api_provide_dropped", 0, {{"hash", key}, {"reason", why}}, {}});
  }
}

void account::command(context& ctx, const peerlab::command& c, effects& fx) {
  auto* body = c.as<market::command>();
  if (!body)
    return fx.fail(c, fail_code::bad_request, verbs_known);
  std::visit(
    [&](const auto& cmd) {
      using T = std::decay_t<decltype(cmd)>;
      if constexpr (std::is_same_v<T, provide_path>)
        provide(ctx, c, cmd, fx);
      else if constexpr (std::is_same_v<T, unprovide_file>)
        unprovide(ctx, c, cmd, fx);
      else if constexpr (std::is_same_v<T, list_provided>)
        list_served(ctx, c, fx);
      else if constexpr (std::is_same_v<T, list_downloads>)
        list_table(ctx, c, tables::download_files(), fx);
      else if constexpr (std::is_same_v<T, list_payments>)
        list_table(ctx, c, tables::payments(), fx);
      else if constexpr (std::is_same_v<T, balance_of>)
        balance(ctx, c, cmd, fx);
      else
        fx.fail(c, fail_code::bad_request,
                std::string(T::verb) + " is the payer's command; " + verbs_known);
    },
    *body);
}

void account::provide(context& ctx, const peerlab::command& c, const provide_path& p, effects& fx) {
  auto served =
    ctx.content.serve_hashed(p.path, file_info{p.hash, p.name, p.stamp.size, p.price}, p.stamp);
  if (!served.ok())
    return fx.fail(c, fail_code::conflict, std::move(served.error));
  const auto& info = served.info;
  if (!ctx.store.put(tables::provided_paths(),
                     {cell_digest(info.hash), p.path, info.name, cell_u64(info.price),
                      cell_u64(info.size), p.stamp.mtime_ns})) {
    // Served but not remembered, it would vanish at the next start: refuse it now.
    ctx.content.unprovide(info.hash);
    return fx.fail(c, fail_code::storage_full,
                   "table ProvidedPaths is full (" +
                     std::to_string(ctx.store.capacity(tables::provided_paths())) + " rows)");
  }
  fx.emit(
    event{"api_provided",
          c.id,
          {{"hash", to_hex(info.hash)}, {"name", info.name}, {"path", p.path}},
          {{"size", static_cast<double>(info.size)}, {"price", static_cast<double>(info.price)}}});
}

void account::unprovide(context& ctx, const peerlab::command& c, const unprovide_file& u,
                        effects& fx) {
  if (!ctx.content.unprovide(u.hash))
    return fx.fail(c, fail_code::not_found, "this node does not provide " + to_hex(u.hash));
  ctx.store.erase(tables::provided_paths(), {cell_digest(u.hash)});
  fx.emit(event{"api_unprovided", c.id, {{"hash", to_hex(u.hash)}}, {}});
}

void account::list_served(context& ctx, const peerlab::command& c, effects& fx) {
  // What is served now, with the sales the payment gate counted.
  std::vector<peerlab::row> out;
  std::size_t total = 0;
  for (auto& f : ctx.content.served_files()) {
    if (++total > cfg_.max_list)
      continue;
    auto key = cell_digest(f.info.hash);
    const char* source = ctx.store.get(tables::provided_paths(), {key}) ? "api"
                         : f.downloaded                                 ? "download"
                                                                        : "config";
    auto sold = ctx.store.get(tables::provided_files(), {key});
    out.push_back(peerlab::row{key, f.info.name, cell_u64(f.info.size), cell_u64(f.info.price),
                               f.path, std::string(source), cell_u64(sold ? sold->u64(4) : 0),
                               cell_u64(sold ? sold->u64(5) : 0)});
  }
  fx.emit(list_event(c.id, list_provided::verb, served_view(), std::move(out), total));
}

void account::list_table(context& ctx, const peerlab::command& c, const table_schema& t,
                         effects& fx) {
  std::vector<peerlab::row> out;
  std::size_t total = 0;
  ctx.store.scan(t, {}, [&](const peerlab::row& r) {
    if (++total <= cfg_.max_list)
      out.push_back(r);
  });
  fx.emit(list_event(c.id, c.verb(), t, std::move(out), total));
}

void account::balance(context& ctx, const peerlab::command& c, const balance_of& q, effects& fx) {
  peer_id who = q.account != 0 ? q.account : ctx.self;
  if (!cfg_.ledger)
    return fx.fail(c, fail_code::conflict,
                   "no ledger configured (the account role's \"ledger\"; api.ledger_name or "
                   "api.ledger on a live node)");
  if (balance_asks_.size() >= cfg_.max_balance_asks)
    return fx.fail(c, fail_code::unavailable, "too many balance queries waiting for the ledger");
  auto req = next_req_++;
  balance_asks_[req] = c.id;
  fx.send(*cfg_.ledger, ledger::encode(ledger::balance_req{req, ports::api, who}));
  fx.after(cfg_.ledger_timeout, req);
}

void account::frame(context&, peer_id from, byte_view data, effects& fx) {
  auto d = ledger::decode(data);
  auto* b = d.ok() ? std::get_if<ledger::balance_reply>(&d.msg) : nullptr;
  if (!b || from != cfg_.ledger) { // also when no ledger is configured
    fx.count("frames_rejected");
    return;
  }
  auto it = balance_asks_.find(b->req_id);
  if (it == balance_asks_.end())
    return; // late: the ask timed out
  fx.emit(balance_event("api_balance", it->second, *b));
  balance_asks_.erase(it);
}

void account::timer(context&, std::uint64_t token, effects& fx) {
  auto it = balance_asks_.find(token);
  if (it == balance_asks_.end())
    return;
  auto id = it->second;
  balance_asks_.erase(it);
  fx.fail(id, balance_of::verb, fail_code::timeout,
          "the ledger did not answer within " + std::to_string(cfg_.ledger_timeout / us_per_ms) +
            " ms");
}

std::shared_ptr<role> make_account(const account_config& c) { return std::make_shared<account>(c); }

} // namespace peerlab::market
