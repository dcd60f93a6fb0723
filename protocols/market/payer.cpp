#include "protocols/market/payer.hpp"

#include "protocols/common/stable_hash.hpp"
#include "protocols/market/balance_event.hpp"
#include "protocols/market/tables.hpp"
#include "protocols/market/market.hpp"

#include <algorithm>

namespace peerlab::market {

namespace {

peerlab::key out_key(const payment_ref& r) { return payment_key("out", r); }

// A payment's nonce: the same bill always gives the same transaction.
std::uint64_t nonce_of(const payment_ref& ref, peer_id provider) {
  return stable_hash(ref.data(), ref.size(), provider);
}

} // namespace

payer::payer(payer_config c) : cfg_(std::move(c)) {}

std::vector<const table_schema*> payer::tables() const {
  return {&tables::payments(), &tables::purchases()};
}

void payer::start(context& ctx, effects& fx) {
  payments_.clear();
  transfers_.clear();
  conflicts_.clear();
  wallet_asks_.clear();
  req_seq_ = ctx.random.next() >> 1;
  book_.load(ctx.store);
  // Resume payments a crash interrupted.
  ctx.store.scan(tables::payments(), {std::string("out")}, [&](const peerlab::row& typed) {
    if (payments_.size() >= bounds::payer_payments_max)
      return;
    auto ref = ref_of(typed.cells[1]);
    auto r = row::of(tables::payments(), typed);
    auto s = r.str("status");
    if (!ref || (s != "paying" && s != "sent" && s != "waiting"))
      return;
    payment p;
    p.provider = r.u64("provider");
    if (auto h = digest_from_hex(r.str("hash")))
      p.hash = *h;
    p.billed = r.u64("amount");
    p.paying = r.u64("paying");
    p.nonce = r.u64("nonce");
    p.created = r.i64("created_at");
    p.late_at = r.i64("late_at");
    if (auto tx = digest_from_hex(r.str("tx")))
      p.tx = *tx;
    p.st = s == "sent"      ? state::notifying
           : s == "waiting" ? state::waiting_late
                            : state::transferring;
    p.last_sent = 0; // due at the first tick
    payments_[*ref] = p;
  });
  if (!cfg_.ledger_address.empty())
    fx.learn_address(cfg_.ledger, cfg_.ledger_address);
  tick_token_ = ctx.random.next() | 1;
  fx.after(cfg_.resend_interval, tick_token_);
}

void payer::save_row(context& ctx, const payment_ref& ref, const payment& p,
                     const std::string& status, const std::string& reason) {
  row r;
  r.set("cat", "made");
  r.set("provider", std::to_string(p.provider));
  r.set("hash", to_hex(p.hash));
  r.set("amount", p.billed);
  r.set("paying", p.paying);
  r.set("nonce", p.nonce);
  r.set("status", status);
  r.set("strategy", strategy_name(cfg_.cheat));
  r.set_i("created_at", p.created);
  r.set_i("late_at", p.late_at);
  if (p.tx != tx_id{})
    r.set("tx", to_hex(p.tx));
  if (!reason.empty())
    r.set("reason", reason);
  save(ctx.store, tables::payments(), out_key(ref), r);
}

void payer::settle(const payment_ref& ref) { payments_.erase(ref); }

void payer::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (ledger::is_reply_frame(data)) {
    auto d = ledger::decode(data);
    if (!d.ok() || from != cfg_.ledger) {
      fx.count("frames_rejected");
      return;
    }
    if (auto* ok = std::get_if<ledger::transfer_ok>(&d.msg))
      on_transfer_ok(ctx, *ok, fx);
    else if (auto* err = std::get_if<ledger::transfer_err>(&d.msg))
      on_transfer_err(ctx, *err, fx);
    else if (auto* b = std::get_if<ledger::balance_reply>(&d.msg)) {
      auto w = wallet_asks_.find(b->req_id);
      if (w != wallet_asks_.end()) {
        fx.emit(balance_event("wallet", w->second, *b));
        wallet_asks_.erase(w);
      }
    } else {
      fx.count("frames_rejected");
    }
    return;
  }
  auto d = decode(data);
  if (!d.ok()) {
    fx.count("frames_rejected");
    return;
  }
  if (auto* r = std::get_if<payment_request>(&d.msg))
    on_request(ctx, from, *r, fx);
  else if (auto* s = std::get_if<payment_status>(&d.msg))
    on_status(ctx, from, *s, fx);
  else
    fx.count("frames_rejected");
}

bool payer::admissible(peer_id from, const payment_request& r, effects& fx) {
  // A bill must pay the node that sent it, for something this node bought from it.
  auto v = r.recipient != from ? bill_verdict::unsolicited
           : cfg_.check_bills  ? book_.judge(from, r)
                               : bill_verdict::pay;
  if (v == bill_verdict::pay)
    return true;
  if (v == bill_verdict::wait) {
    fx.count("market.bills_deferred");
    return false;
  }
  fx.count("market.bills_refused");
  switch (v) {
  case bill_verdict::unsolicited:
    fx.count("market.bills_refused.unsolicited");
    break;
  case bill_verdict::wrong_hash:
    fx.count("market.bills_refused.wrong_hash");
    break;
  case bill_verdict::over_price:
    fx.count("market.bills_refused.over_price");
    break;
  default:
    fx.count("market.bills_refused.double");
    break;
  }
  fx.emit(event{"bill_refused",
                0,
                {{"provider", std::to_string(from)},
                 {"ref", ref_hex(r.ref)},
                 {"hash", to_hex(r.hash)},
                 {"reason", bill_verdict_name(v)}},
                {{"amount", static_cast<double>(r.amount)},
                 {"from", static_cast<double>(r.from)},
                 {"to", static_cast<double>(r.to)}}});
  return false;
}

void payer::on_request(context& ctx, peer_id from, const payment_request& r, effects& fx) {
  fx.count("market.bills_received");
  if (auto it = payments_.find(r.ref); it != payments_.end()) {
    if (it->second.provider != from)
      return; // another peer's reference: nothing to answer
    if (it->second.st == state::notifying || it->second.st == state::acked)
      send_notify(ctx, r.ref, it->second, fx); // our notification was lost
    return;
  }
  if (ctx.store.get(tables::payments(), out_key(r.ref)))
    return; // already settled (or deliberately ignored)
  if (payments_.size() >= bounds::payer_payments_max) {
    fx.count("market.bills_dropped");
    return;
  }
  if (!admissible(from, r, fx))
    return;
  book_.accept(ctx.store, from, r);
  payment p;
  p.provider = from;
  p.hash = r.hash;
  p.billed = r.amount;
  p.paying = r.amount;
  p.nonce = nonce_of(r.ref, from);
  p.created = ctx.now;
  switch (cfg_.cheat) {
  case strategy::never_pays:
    fx.count("market.bills_ignored");
    save_row(ctx, r.ref, p, "ignored");
    return;
  case strategy::impersonates: // the reply (not_owner) matches no transfer of ours
    fx.send(cfg_.ledger, ledger::encode(ledger::transfer{++req_seq_, ports::payer, from, ctx.self,
                                                         r.amount, cfg_.fee, p.nonce}));
    fx.count("market.impersonations_sent");
    save_row(ctx, r.ref, p, "ignored");
    return;
  case strategy::underpays:
    p.paying = std::max<std::uint64_t>(r.amount / 2, 1);
    break;
  case strategy::pays_late:
    p.st = state::waiting_late;
    p.late_at = ctx.now + cfg_.late_delay;
    payments_[r.ref] = p;
    save_row(ctx, r.ref, p, "waiting");
    return;
  case strategy::fake_tx_id:
    for (std::size_t i = 0; i < p.tx.size(); i += 8) {
      std::uint64_t v = ctx.random.next();
      for (std::size_t k = 0; k < 8; ++k)
        p.tx[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
    }
    p.paying = 0;
    payments_[r.ref] = p;
    save_row(ctx, r.ref, p, "sent");
    return send_notify(ctx, r.ref, payments_[r.ref], fx);
  case strategy::reuses_tx_id:
    if (first_tx_) {
      p.tx = *first_tx_;
      p.paying = 0;
      payments_[r.ref] = p;
      save_row(ctx, r.ref, p, "sent");
      return send_notify(ctx, r.ref, payments_[r.ref], fx);
    }
    break;
  default:
    break;
  }
  auto& slot = payments_[r.ref] = p;
  save_row(ctx, r.ref, slot, "paying");
  send_transfer(ctx, r.ref, slot, fx);
}

void payer::send_transfer(context& ctx, const payment_ref& ref, payment& p, effects& fx) {
  auto id = ++req_seq_;
  transfers_[id] = ref;
  p.st = state::transferring;
  p.last_sent = ctx.now;
  fx.send(cfg_.ledger, ledger::encode(ledger::transfer{id, ports::payer, ctx.self, p.provider,
                                                       p.paying, cfg_.fee, p.nonce}));
  fx.count("market.transfers_sent");
}

void payer::send_notify(context& ctx, const payment_ref& ref, payment& p, effects& fx) {
  if (p.st != state::acked)
    p.st = state::notifying;
  p.last_sent = ctx.now;
  fx.send(p.provider, encode(payment_notify{ref, p.tx}));
  fx.count("market.notifications_sent");
}

// The payment a TRANSFER reply answers if it still waits for one (a reply to a
// resent TRANSFER finds none); the request id is used up either way.
payer::payment* payer::awaiting_transfer(std::uint64_t req_id, payment_ref& ref) {
  auto t = transfers_.find(req_id);
  if (t == transfers_.end())
    return nullptr;
  ref = t->second;
  transfers_.erase(t);
  auto it = payments_.find(ref);
  if (it == payments_.end() || it->second.st != state::transferring)
    return nullptr;
  return &it->second;
}

void payer::on_transfer_ok(context& ctx, const ledger::transfer_ok& ok, effects& fx) {
  if (conflicts_.erase(ok.req_id) != 0) {
    fx.count("market.double_spends_accepted"); // the ledger took the replacement
    return;
  }
  payment_ref ref{};
  payment* found = awaiting_transfer(ok.req_id, ref);
  if (!found)
    return;
  auto& p = *found;
  p.tx = ok.id;
  p.resends = 0;
  if (cfg_.cheat == strategy::reuses_tx_id && !first_tx_)
    first_tx_ = ok.id;
  save_row(ctx, ref, p, "sent");
  fx.emit(
    event{"payment_sent",
          0,
          {{"provider", std::to_string(p.provider)},
           {"ref", ref_hex(ref)},
           {"strategy", strategy_name(cfg_.cheat)}},
          {{"amount", static_cast<double>(p.billed)}, {"paid", static_cast<double>(p.paying)}}});
  send_notify(ctx, ref, p, fx);
  if (cfg_.cheat == strategy::double_spends) {
    // Same nonce, back to itself, a higher fee: replaces the payment before a block takes it.
    auto id = ++req_seq_;
    conflicts_[id] = ref;
    fx.send(cfg_.ledger, ledger::encode(ledger::transfer{id, ports::payer, ctx.self, ctx.self,
                                                         p.paying, cfg_.fee + 1, p.nonce}));
    fx.count("market.double_spends_sent");
  }
}

void payer::on_transfer_err(context& ctx, const ledger::transfer_err& err, effects& fx) {
  if (conflicts_.erase(err.req_id) != 0) {
    fx.count("market.double_spends_refused");
    return;
  }
  payment_ref ref{};
  payment* p = awaiting_transfer(err.req_id, ref);
  if (!p)
    return;
  fx.count("market.transfers_refused");
  std::string reason = std::string("ledger: ") + ledger::error_name(err.code) + ": " + err.text;
  save_row(ctx, ref, *p, "failed", reason);
  fx.emit(event{"payment_error",
                0,
                {{"provider", std::to_string(p->provider)}, {"reason", reason}},
                {{"amount", static_cast<double>(p->billed)}}});
  settle(ref);
}

void payer::on_status(context& ctx, peer_id from, const payment_status& s, effects& fx) {
  auto it = payments_.find(s.ref);
  if (it == payments_.end() || it->second.provider != from)
    return; // settled already, or not ours
  auto& p = it->second;
  if (p.st == state::waiting_late)
    return; // a verdict on a payment not made yet (a deadline passed): pays_late pays anyway
  if (s.status == pay_status::received) {
    p.st = state::acked;
    p.resends = 0;
    return;
  }
  bool ok = s.status == pay_status::verified;
  if (!ok && p.tx != tx_id{} && s.reason.starts_with("not paid")) {
    // Paid, but the provider's deadline passed before it heard (it, this
    // node or the ledger was down): tell it again. The verifier still checks
    // a late payment, books it and clears this node.
    fx.count("market.late_renotifications");
    return send_notify(ctx, s.ref, p, fx);
  }
  save_row(ctx, s.ref, p, ok ? "verified" : "failed", s.reason);
  fx.count(ok ? "market.payments_recognised" : "market.payments_rejected");
  fx.emit(event{ok ? "payment_recognised" : "payment_rejected",
                0,
                {{"provider", std::to_string(p.provider)},
                 {"ref", ref_hex(s.ref)},
                 {"strategy", strategy_name(cfg_.cheat)},
                 {"reason", s.reason}},
                {{"amount", static_cast<double>(p.billed)},
                 {"latency_us", static_cast<double>(ctx.now - p.created)}}});
  settle(s.ref);
}

void payer::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != tick_token_)
    return;
  std::vector<payment_ref> gave_up;
  for (auto& [ref, p] : payments_) {
    switch (p.st) {
    case state::waiting_late:
      if (ctx.now >= p.late_at) {
        save_row(ctx, ref, p, "paying");
        send_transfer(ctx, ref, p, fx);
      }
      break;
    case state::transferring:
    case state::notifying:
    case state::acked: {
      // Acked payments wait for the verdict; asking again now and then
      // recovers a lost PAYMENT_STATUS. The others are resent at once for
      // half of max_resends (the provider's deadline counts), then at the
      // acked pace, so the budget outlasts a partition of several intervals.
      time_us wait = p.st == state::acked || p.resends >= cfg_.max_resends / 2
                       ? 4 * cfg_.resend_interval
                       : cfg_.resend_interval;
      if (ctx.now - p.last_sent < wait)
        break;
      if (++p.resends > cfg_.max_resends) {
        gave_up.push_back(ref);
        break;
      }
      if (p.st == state::transferring)
        send_transfer(ctx, ref, p, fx);
      else
        send_notify(ctx, ref, p, fx);
      fx.count("market.resends");
      break;
    }
    }
  }
  for (auto& ref : gave_up) {
    auto& p = payments_.at(ref);
    save_row(ctx, ref, p, "failed",
             "no answer after " + std::to_string(cfg_.max_resends) + " resends");
    fx.count("market.payments_abandoned");
    settle(ref);
  }
  // Forget transfer ids whose replies never came (a resend made a new one).
  while (transfers_.size() > 4 * payments_.size() + 16)
    transfers_.erase(transfers_.begin());
  while (conflicts_.size() > 64)
    conflicts_.erase(conflicts_.begin());
  fx.after(cfg_.resend_interval, tick_token_);
}

void payer::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  if (auto* report = cmd.as<filexfer::purchase_reports>()) {
    if (!book_.record(ctx.store, std::get<filexfer::purchase_report>(*report)))
      fx.count("market.purchases_dropped"); // the book is full of unpaid purchases
    return;
  }
  auto* body = cmd.as<market::command>();
  if (!body || !std::holds_alternative<wallet>(*body))
    return fx.fail(cmd, peerlab::fail_code::bad_request, "the payer knows only \"wallet\"");
  auto id = ++req_seq_;
  if (wallet_asks_.size() >= 64)
    wallet_asks_.erase(wallet_asks_.begin());
  wallet_asks_[id] = cmd.id;
  fx.send(cfg_.ledger, ledger::encode(ledger::balance_req{id, ports::payer, ctx.self}));
}

std::shared_ptr<role> make_payer(const payer_config& c) { return std::make_shared<payer>(c); }

} // namespace peerlab::market
