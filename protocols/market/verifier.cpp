#include "protocols/market/verifier.hpp"

#include "protocols/market/tables.hpp"
#include "protocols/market/market.hpp"

#include <algorithm>

namespace peerlab::market {

namespace {

peerlab::key in_key(const payment_ref& r) { return payment_key("in", r); }

} // namespace

verifier::verifier(verifier_config c) : cfg_(std::move(c)) {}

std::vector<const table_schema*> verifier::tables() const {
  return {&tables::payments(), &tables::inbox(), &tables::open(), &tables::used_tx(),
          &tables::blacklist()};
}

void verifier::start(context& ctx, effects& fx) {
  open_.clear();
  deadlines_.clear();
  actions_.clear();
  tip_wait_.clear();
  queries_.clear();
  req_seq_ = ctx.random.next() >> 1; // replies to queries from before a restart are stale
  // Unsettled bills survive a crash in PaymentsOpen; new ones wait in the inbox.
  std::vector<payment_ref> refs;
  ctx.store.scan(tables::open(), {}, [&](const peerlab::row& r) {
    if (auto ref = ref_of(r.cells[0]))
      refs.push_back(*ref);
  });
  for (auto& ref : refs)
    if (auto r = load(ctx.store, tables::payments(), in_key(ref)))
      track(ctx, ref, *r, true);
  consume_inbox(ctx);
  if (!cfg_.ledger_address.empty())
    fx.learn_address(cfg_.ledger, cfg_.ledger_address);
  poll_token_ = ctx.random.next() | 1;
  fx.after(cfg_.poll_interval, poll_token_);
}

void verifier::track(context& ctx, const payment_ref& ref, const row& r, bool restarted) {
  auto status = r.str("status");
  if (status != "requested" && status != "notified") {
    ctx.store.erase(tables::open(), ref_key(ref));
    return;
  }
  if (open_.size() >= bounds::open_payments_max)
    return; // stays in the rows; picked up after a restart with room
  entry e;
  e.peer = r.u64("peer");
  if (auto h = digest_from_hex(r.str("hash")))
    e.hash = *h;
  e.amount = r.u64("amount");
  e.from = r.u64("from");
  e.to = r.u64("to");
  e.requested_at = r.i64("requested_at");
  e.late = r.str("late") == "1";
  auto& slot = open_[ref] = e;
  if (status == "notified") {
    if (auto tx = digest_from_hex(r.str("tx")))
      slot.tx = *tx;
    slot.st = state::notified;
    slot.notified_at = r.i64("notified_at");
    // After a restart a deadline that passed while the node was down gets
    // one more look: a payment made meanwhile is not the peer's fault.
    auto deadline = slot.notified_at + cfg_.confirm_deadline;
    set_deadline(ref, slot,
                 restarted ? std::max(deadline, ctx.now + 2 * cfg_.query_timeout) : deadline);
    schedule(ref, slot, ctx.now);
  } else {
    auto deadline = r.i64("deadline");
    set_deadline(ref, slot,
                 restarted ? std::max(deadline, ctx.now + 2 * cfg_.request_resend) : deadline);
    schedule(ref, slot,
             restarted ? ctx.now : ctx.now + cfg_.request_resend); // the gate just sent a new bill
  }
  ctx.store.put(tables::open(), peerlab::row(ref_key(ref)));
}

void verifier::consume_inbox(context& ctx) {
  std::vector<peerlab::key> refs;
  ctx.store.scan(tables::inbox(), {}, [&](const peerlab::row& r) {
    if (open_.size() + refs.size() < bounds::open_payments_max)
      refs.push_back(r.cells);
  });
  for (auto& k : refs) {
    ctx.store.erase(tables::inbox(), k);
    auto ref = ref_of(k[0]);
    if (!ref || open_.count(*ref))
      continue;
    if (auto r = load(ctx.store, tables::payments(), in_key(*ref)))
      track(ctx, *ref, *r, false);
  }
}

void verifier::schedule(const payment_ref& ref, entry& e, time_us at) {
  unschedule(ref, e);
  e.next_action = std::max<time_us>(at, 1);
  actions_.insert({e.next_action, ref});
}

void verifier::unschedule(const payment_ref& ref, entry& e) {
  if (e.next_action != 0)
    actions_.erase({e.next_action, ref});
  e.next_action = 0;
  if (e.wait_tip != 0) {
    auto [b, end] = tip_wait_.equal_range(e.wait_tip);
    for (auto it = b; it != end; ++it)
      if (it->second == ref) {
        tip_wait_.erase(it);
        break;
      }
  }
  e.wait_tip = 0;
}

void verifier::set_deadline(const payment_ref& ref, entry& e, time_us at) {
  if (e.deadline != 0)
    deadlines_.erase({e.deadline, ref});
  e.deadline = std::max<time_us>(at, 1);
  deadlines_.insert({e.deadline, ref});
}

void verifier::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != poll_token_)
    return;
  poll(ctx, fx);
  fx.after(cfg_.poll_interval, poll_token_);
}

void verifier::poll(context& ctx, effects& fx) {
  fx.count("market.verifier_polls");
  consume_inbox(ctx);
  while (!deadlines_.empty() && deadlines_.begin()->first <= ctx.now) {
    auto ref = deadlines_.begin()->second;
    auto& e = open_.at(ref);
    fail(ctx, ref,
         e.st == state::requested ? "not paid within the payment deadline"
                                  : "transaction not confirmed within the confirmation deadline",
         fx);
  }
  for (auto it = tip_wait_.begin(); it != tip_wait_.end() && it->first <= tip_;) {
    auto ref = it->second;
    it = tip_wait_.erase(it);
    auto& e = open_.at(ref);
    e.wait_tip = 0;
    e.next_action = ctx.now;
    actions_.insert({ctx.now, ref});
  }
  std::size_t sent = 0;
  while (!actions_.empty() && actions_.begin()->first <= ctx.now &&
         sent < cfg_.max_queries_per_poll) {
    auto ref = actions_.begin()->second;
    auto& e = open_.at(ref);
    if (e.st == state::requested) {
      // The bill (or the payer's reply) may have been lost: send it again.
      auto due = std::max<time_us>(e.deadline - ctx.now, 0) / 1000;
      fx.send(e.peer, encode(payment_request{
                        ref, e.hash, e.amount, ctx.self, e.from, e.to,
                        static_cast<std::uint32_t>(std::min<time_us>(due, UINT32_MAX))}));
      fx.count("market.bills_resent");
      schedule(ref, e, ctx.now + cfg_.request_resend);
    } else {
      auto id = next_req();
      queries_[id] = ref;
      fx.send(cfg_.ledger, ledger::encode(ledger::tx_status_req{id, ports::payment, e.tx}));
      fx.count("market.status_queries");
      schedule(ref, e, ctx.now + cfg_.query_timeout);
    }
    ++sent;
  }
  // Forget the oldest queries whose replies were lost (their bills re-query).
  while (queries_.size() > 4 * cfg_.max_queries_per_poll)
    queries_.erase(queries_.begin());
  if (!tip_wait_.empty()) { // learn of new blocks cheaply: one balance query
    auto id = next_req();
    queries_[id] = payment_ref{};
    fx.send(cfg_.ledger, ledger::encode(ledger::balance_req{id, ports::payment, ctx.self}));
  }
  fx.observe("market.verifier_open", static_cast<double>(open_.size()));
}

void verifier::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (ledger::is_reply_frame(data)) {
    auto d = ledger::decode(data);
    if (!d.ok() || from != cfg_.ledger) {
      fx.count("frames_rejected");
      return;
    }
    if (auto* s = std::get_if<ledger::tx_status_reply>(&d.msg))
      on_status(ctx, *s, fx);
    else if (auto* b = std::get_if<ledger::balance_reply>(&d.msg))
      on_balance(*b);
    else
      fx.count("frames_rejected");
    return;
  }
  auto d = decode(data);
  auto* n = d.ok() ? std::get_if<payment_notify>(&d.msg) : nullptr;
  if (!n) {
    fx.count("frames_rejected");
    return;
  }
  on_notify(ctx, from, *n, fx);
}

void verifier::reply(peer_id to, const payment_ref& ref, const tx_id& tx, pay_status s,
                     const std::string& reason, effects& fx) {
  fx.send(to, encode(payment_status{ref, tx, s, reason.substr(0, bounds::reason_max)}));
}

void verifier::on_notify(context& ctx, peer_id from, const payment_notify& n, effects& fx) {
  fx.count("market.notifications");
  consume_inbox(ctx);
  auto it = open_.find(n.ref);
  if (it == open_.end()) {
    auto r = load(ctx.store, tables::payments(), in_key(n.ref));
    if (!r) {
      fx.count("market.notify_unknown_ref");
      return reply(from, n.ref, n.tx, pay_status::failed, "unknown payment reference", fx);
    }
    if (r->u64("peer") != from) {
      fx.count("market.notify_wrong_peer");
      return reply(from, n.ref, n.tx, pay_status::failed, "the reference belongs to another peer",
                   fx);
    }
    auto status = r->str("status");
    bool late =
      status == "failed" && r->str("tx").empty() && r->str("reason").rfind("not paid", 0) == 0;
    if (!late) {
      auto s =
        status == "verified" || status == "late_paid" ? pay_status::verified : pay_status::failed;
      return reply(from, n.ref, n.tx, s, r->str("reason"), fx);
    }
    // Paid after the deadline failed it: verify anyway, so the books show the
    // money, but the peer stays blacklisted.
    r->set("status", "requested");
    r->set("late", "1");
    save(ctx.store, tables::payments(), in_key(n.ref), *r);
    track(ctx, n.ref, *r, false);
    it = open_.find(n.ref);
    if (it == open_.end())
      return;
  }
  auto& e = it->second;
  if (e.peer != from) {
    fx.count("market.notify_wrong_peer");
    return reply(from, n.ref, n.tx, pay_status::failed, "the reference belongs to another peer",
                 fx);
  }
  if (e.st == state::notified) {
    if (e.tx == n.tx)
      return reply(from, n.ref, n.tx, pay_status::received, "", fx); // a retransmission
    fx.count("market.notify_second_tx");
    return reply(from, n.ref, n.tx, pay_status::failed,
                 "the reference was already notified with another transaction", fx);
  }
  auto tx_hex = to_hex(n.tx);
  if (auto used = ctx.store.get(tables::used_tx(), {cell_digest(n.tx)});
      used && ref_of(used->cells[1]) != n.ref) {
    fx.count("market.reused_tx_detected");
    e.tx = n.tx;
    auto& other = used->blob(1);
    return fail(ctx, n.ref,
                "transaction " + tx_hex.substr(0, 16) + " already paid reference " +
                  to_hex(byte_view{other.data(), other.size()}).substr(0, 16),
                fx);
  }
  if (!ctx.store.put(tables::used_tx(), {cell_digest(n.tx), bytes(n.ref.begin(), n.ref.end())}))
    fx.count("market.used_tx_full"); // the gate stops selling long before: see gate::admit
  e.st = state::notified;
  e.tx = n.tx;
  e.notified_at = ctx.now;
  auto r = load(ctx.store, tables::payments(), in_key(n.ref)).value_or(row{});
  r.set("status", "notified");
  r.set("tx", tx_hex);
  r.set_i("notified_at", ctx.now);
  save(ctx.store, tables::payments(), in_key(n.ref), r);
  set_deadline(n.ref, e, ctx.now + cfg_.confirm_deadline);
  schedule(n.ref, e, ctx.now); // queried at the next poll
  reply(from, n.ref, n.tx, pay_status::received, "", fx);
}

void verifier::on_balance(const ledger::balance_reply& b) {
  queries_.erase(b.req_id);
  tip_ = std::max(tip_, b.tip);
}

void verifier::on_status(context& ctx, const ledger::tx_status_reply& s, effects& fx) {
  auto q = queries_.find(s.req_id);
  if (q == queries_.end()) {
    fx.count("market.stale_ledger_replies");
    return;
  }
  payment_ref ref = q->second;
  queries_.erase(q);
  tip_ = std::max(tip_, s.tip);
  auto it = open_.find(ref);
  if (it == open_.end() || it->second.st != state::notified || it->second.tx != s.id)
    return; // settled meanwhile
  auto& e = it->second;
  using ledger::tx_status;
  switch (s.status) {
  case tx_status::unknown:
    if (ctx.now - e.notified_at >= cfg_.unknown_grace)
      return fail(ctx, ref, "the ledger knows no such transaction", fx);
    return schedule(ref, e, ctx.now + cfg_.poll_interval);
  case tx_status::replaced:
    return fail(ctx, ref, "the transaction was replaced by a conflicting one (double spend)", fx);
  default:
    break;
  }
  if (s.to != ctx.self)
    return fail(ctx, ref,
                "the transaction pays account " + std::to_string(s.to) + ", not this provider", fx);
  if (s.from != e.peer)
    return fail(
      ctx, ref,
      "the transaction was paid by account " + std::to_string(s.from) + ", not by the peer", fx);
  if (s.amount < e.amount)
    return fail(ctx, ref,
                "underpaid: " + std::to_string(s.amount) + " of " + std::to_string(e.amount), fx);
  if (s.status == tx_status::pending)
    return schedule(ref, e, ctx.now + cfg_.poll_interval);
  if (s.status == tx_status::in_block) {
    unschedule(ref, e);
    e.wait_tip = s.tip + 1; // look again once a newer block exists
    tip_wait_.insert({e.wait_tip, ref});
    return;
  }
  succeed(ctx, ref, fx);
}

// Closes the open payment `ref`: its timers, deadline and open row go, and its
// payment row records `status` (and `reason`, if given) and when it settled.
verifier::entry verifier::close(context& ctx, const payment_ref& ref, const char* status,
                                const std::string* reason) {
  auto it = open_.find(ref);
  auto e = it->second;
  unschedule(ref, it->second);
  deadlines_.erase({e.deadline, ref});
  open_.erase(it);
  auto r = load(ctx.store, tables::payments(), in_key(ref)).value_or(row{});
  r.set("status", status);
  if (reason)
    r.set("reason", *reason);
  r.set_i("settled_at", ctx.now);
  save(ctx.store, tables::payments(), in_key(ref), r);
  ctx.store.erase(tables::open(), ref_key(ref));
  return e;
}

void verifier::succeed(context& ctx, const payment_ref& ref, effects& fx) {
  const bool late = open_.at(ref).late;
  auto e = close(ctx, ref, late ? "late_paid" : "verified", nullptr);
  fx.count(e.late ? "market.payments_late_paid" : "market.payments_verified");
  fx.emit(event{e.late ? "payment_late_paid" : "payment_verified",
                0,
                {{"peer", std::to_string(e.peer)}, {"ref", ref_hex(ref)}, {"tx", to_hex(e.tx)}},
                {{"amount", static_cast<double>(e.amount)},
                 {"bytes", static_cast<double>(e.to - e.from)},
                 {"latency_us", static_cast<double>(ctx.now - e.requested_at)},
                 {"confirm_us", static_cast<double>(ctx.now - e.notified_at)}}});
  reply(e.peer, ref, e.tx, pay_status::verified, "", fx);
  if (e.late)
    forgive_late(ctx, e.peer, fx);
}

namespace {
// A bill failed only because no payment came in time: a late payment may still settle it.
bool missed_deadline(std::string_view reason) { return reason.starts_with("not paid"); }
} // namespace

void verifier::forgive_late(context& ctx, peer_id peer, effects& fx) {
  auto bl = peer_key(peer);
  auto why = ctx.store.get(tables::blacklist(), bl);
  if (!why || !missed_deadline(why->text(1)))
    return;
  // Every bill of the peer that failed must have been paid late since. Late
  // payments are rare, so one pass over the bills each time is affordable.
  bool owes = false;
  ctx.store.scan(tables::payments(), {std::string("in")}, [&](const peerlab::row& typed) {
    if (owes)
      return;
    auto r = row::of(tables::payments(), typed);
    owes = r.u64("peer") == peer && r.str("status") == "failed";
  });
  if (owes)
    return;
  ctx.store.erase(tables::blacklist(), bl);
  fx.count("market.peers_cleared");
  fx.emit(event{"peer_cleared",
                0,
                {{"peer", std::to_string(peer)}, {"reason", "paid late: " + why->text(1)}},
                {}});
}

void verifier::fail(context& ctx, const payment_ref& ref, const std::string& reason, effects& fx) {
  auto e = close(ctx, ref, "failed", &reason);
  fx.count("market.payments_failed");
  fx.emit(event{
    "payment_failed",
    0,
    {{"peer", std::to_string(e.peer)}, {"ref", ref_hex(ref)}, {"reason", reason}},
    {{"amount", static_cast<double>(e.amount)}, {"bytes", static_cast<double>(e.to - e.from)}}});
  auto bl = peer_key(e.peer);
  auto listed = ctx.store.get(tables::blacklist(), bl);
  if (listed && missed_deadline(listed->text(1)) && !missed_deadline(reason)) {
    // A cheat outweighs a missed deadline: a late payment must not clear it.
    ctx.store.put(tables::blacklist(), {bl[0], clean(reason)});
  } else if (!listed) {
    ctx.store.put(tables::blacklist(), {bl[0], clean(reason)});
    fx.count("market.peers_blacklisted");
    fx.emit(
      event{"peer_blacklisted", 0, {{"peer", std::to_string(e.peer)}, {"reason", reason}}, {}});
  }
  reply(e.peer, ref, e.tx, pay_status::failed, reason, fx);
}

std::shared_ptr<role> make_verifier(const verifier_config& c) {
  return std::make_shared<verifier>(c);
}

} // namespace peerlab::market
