#include "protocols/ledger/ledger_role.hpp"

#include "protocols/ledger/tables.hpp"
#include <set>

namespace peerlab::ledger {

std::vector<const table_schema*> ledger_role::tables() const {
  return {&meta_table(), &accounts_table(), &txs_table()};
}

namespace {

std::string hex(const tx_id& id) { return to_hex(id); }

} // namespace

ledger_role::ledger_role(config c) : cfg_(c), chain_(c) {}

void ledger_role::start(context& ctx, effects& fx) {
  chain_ = chain(cfg_);
  chain_.load(ctx.store); // a restarted ledger continues its chain
  block_token_ = ctx.random.next() | 1;
  fx.after(cfg_.block_interval, block_token_);
}

void ledger_role::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != block_token_)
    return;
  make_block(ctx, fx);
  block_token_ = ctx.random.next() | 1;
  fx.after(cfg_.block_interval, block_token_);
}

void ledger_role::make_block(context& ctx, effects& fx) {
  auto included = chain_.make_block();
  // Only accounts a transaction moved are written: an empty block changes no balance row.
  std::set<account_id> touched;
  if (!included.empty())
    touched.insert(fee_sink);
  for (auto& id : included) {
    auto* r = chain_.find(id);
    touched.insert(r->from);
    touched.insert(r->to);
    chain_.save_tx(ctx.store, id);
    fx.emit(event{"ledger_tx_included",
                  0,
                  {{"tx", hex(id)},
                   {"from", std::to_string(r->from)},
                   {"to", std::to_string(r->to)},
                   {"nonce", std::to_string(r->nonce)}},
                  {{"amount", static_cast<double>(r->amount)},
                   {"fee", static_cast<double>(r->fee)},
                   {"height", static_cast<double>(r->height)}}});
  }
  for (auto a : touched)
    chain_.save_account(ctx.store, a);
  chain_.save_meta(ctx.store);
  fx.count("ledger.blocks");
  fx.count("ledger.txs_included", static_cast<double>(included.size()));
  std::string broken = chain_.check_invariants();
  if (!broken.empty())
    fx.count("ledger.invariant_broken");
  fx.emit(event{"ledger_block",
                0,
                {{"invariants", broken.empty() ? "ok" : broken}},
                {{"height", static_cast<double>(chain_.tip())},
                 {"txs", static_cast<double>(included.size())},
                 {"pending", static_cast<double>(chain_.pending_count())}}});
}

void ledger_role::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  auto d = decode(data);
  if (!d.ok()) {
    fx.count("frames_rejected");
    return;
  }
  if (auto* t = std::get_if<transfer>(&d.msg)) {
    on_transfer(ctx, from, *t, fx);
  } else if (auto* q = std::get_if<tx_status_req>(&d.msg)) {
    fx.count("ledger.status_queries");
    auto s = chain_.status(q->id);
    s.port = q->reply_port;
    s.req_id = q->req_id;
    fx.send(from, encode(s));
  } else if (auto* b = std::get_if<balance_req>(&d.msg)) {
    fx.count("ledger.balance_queries");
    auto r = chain_.balance(b->account);
    r.port = b->reply_port;
    r.req_id = b->req_id;
    fx.send(from, encode(r));
  } else {
    fx.count("frames_rejected"); // a reply has no business on the ledger port
  }
}

void ledger_role::on_transfer(context& ctx, peer_id from, const transfer& t, effects& fx) {
  fx.count("ledger.transfers");
  submit_result r;
  if (t.from !=
      from) { // `from` is proven by the transport (TLS live, the network in the simulator)
    fx.count("ledger.impostor_transfers_rejected");
    r.code = error_code::not_owner;
    r.text = "account " + std::to_string(t.from) + " belongs to another node";
  } else {
    r = chain_.submit(t.from, t.to, t.amount, t.fee, t.nonce);
  }
  if (!r.ok) {
    fx.count("ledger.transfers_rejected");
    if (r.code == error_code::double_spend || r.code == error_code::conflict)
      fx.count("ledger.double_spends_rejected");
    if (r.code == error_code::overdraft)
      fx.count("ledger.overdrafts_rejected");
    fx.send(from, encode(transfer_err{t.reply_port, t.req_id, r.code, r.text}));
    return;
  }
  if (!r.duplicate) {
    chain_.save_tx(ctx.store, r.id);
    chain_.save_meta(ctx.store);
  }
  if (r.replaced_other) {
    fx.count("ledger.replacements");
    chain_.save_tx(ctx.store, r.replaced);
    fx.emit(event{"ledger_tx_replaced",
                  0,
                  {{"tx", hex(r.replaced)},
                   {"by", hex(r.id)},
                   {"from", std::to_string(t.from)},
                   {"nonce", std::to_string(t.nonce)}},
                  {}});
  }
  fx.send(from, encode(transfer_ok{t.reply_port, t.req_id, r.id}));
}

void ledger_role::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  auto* body = cmd.as<ledger::command>();
  if (!body)
    return fx.fail(cmd, peerlab::fail_code::bad_request,
                   "the ledger knows the commands \"fund\" and \"balance\"");
  if (auto* f = std::get_if<fund>(body)) {
    auto r = chain_.fund(f->account, f->amount);
    if (!r.ok)
      return fx.fail(cmd, peerlab::fail_code::conflict,
                     std::string("fund: ") + error_name(r.code) + ": " + r.text);
    chain_.save_tx(ctx.store, r.id);
    chain_.save_account(ctx.store, treasury);
    chain_.save_account(ctx.store, f->account);
    chain_.save_meta(ctx.store);
    fx.emit(event{"ledger_funded",
                  cmd.id,
                  {{"tx", hex(r.id)}, {"account", std::to_string(f->account)}},
                  {{"amount", static_cast<double>(f->amount)}}});
    return;
  }
  auto& q = std::get<balance>(*body);
  auto b = chain_.balance(q.account);
  fx.emit(event{"ledger_balance",
                cmd.id,
                {},
                {{"account", static_cast<double>(q.account)},
                 {"balance", static_cast<double>(b.balance)},
                 {"pending_out", static_cast<double>(b.pending_out)},
                 {"tip", static_cast<double>(b.tip)}}});
}

std::shared_ptr<role> make_ledger(const config& c) { return std::make_shared<ledger_role>(c); }

} // namespace peerlab::ledger
