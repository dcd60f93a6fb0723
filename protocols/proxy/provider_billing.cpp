// The provider's half of the ProxyPaymentLoop: usage reports judged against
// its own count, bills, notified payments verified on the ledger, cut-offs.
#include "protocols/proxy/provider.hpp"
#include "protocols/proxy/tables.hpp"

namespace peerlab::proxy {

namespace {

template <class A>
A random_ref(rng& r) {
  A a{};
  for (std::size_t i = 0; i < a.size(); i += 8) {
    std::uint64_t v = r.next();
    for (std::size_t k = 0; k < 8 && i + k < a.size(); ++k)
      a[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
  }
  return a;
}

} // namespace

void provider::save_payment(context& ctx, const payment_ref& ref, std::uint64_t client_id,
                            std::uint64_t amount, const tx_id* tx, time_us at,
                            const std::string& status, const std::string& reason) {
  ctx.store.put(tables::payments(),
                row{bytes(ref.begin(), ref.end()), cell_u64(client_id), cell_u64(amount),
                    tx ? bytes(tx->begin(), tx->end()) : bytes{}, std::int64_t{at}, status,
                    reason.substr(0, bounds::reason_max)});
}

void provider::on_report(context& ctx, peer_id from, const usage_report& m, effects& fx) {
  fx.count("proxy.reports_received");
  auto refuse = [&](refusal why, std::uint64_t mine, std::string text) {
    fx.count("proxy.reports_refused");
    settle_send(fx, from, encode(usage_refused{m.client_id, m.seq, why, mine, std::move(text)}));
  };
  auto* c = authorised(from, m.client_id, m.token);
  if (!c)
    return refuse(refusal::unknown_client, 0, "no such client id for this peer and token");
  if (c->status != "active")
    return refuse(refusal::terminated, c->used(), "session " + c->status + ": " + c->reason);
  c->reported = m.bytes_used;
  if (!cfg_.tolerance.within(c->used(), m.bytes_used)) {
    ++c->strikes;
    auto text =
      "stated " + std::to_string(m.bytes_used) + " B, counted " + std::to_string(c->used()) + " B";
    refuse(refusal::out_of_tolerance, c->used(), text);
    fx.count("proxy.reports_out_of_band");
    if (c->strikes >= cfg_.strikes_max)
      return terminate(ctx, m.client_id, *c, end_reason::out_of_tolerance, text, fx);
    return save(ctx, m.client_id, *c);
  }
  c->strikes = 0;
  bill(ctx, m.client_id, *c, m.seq, fx);
}

void provider::bill(context& ctx, std::uint64_t id, client& c, std::uint64_t seq, effects& fx) {
  // What this provider states (an over-reporter states more than it counted).
  std::uint64_t claim = c.used();
  if (cfg_.cheat == provider_strategy::over_reports)
    claim += static_cast<std::uint64_t>(static_cast<double>(claim) * cfg_.over_factor);
  const std::uint64_t paid = c.confirmed + c.unconfirmed;
  const std::uint64_t due = fee_of(claim, c.fee_per_kb);
  const std::uint64_t owed = due > paid ? due - paid : 0;
  if (c.open_ref) {
    auto b = bills_.find(*c.open_ref);
    if (c.open_seq == seq && b != bills_.end()) { // the same report again: the same bill
      settle_send(fx, c.peer,
                  encode(payment_request{id, seq, claim, b->second.amount, b->second.amount,
                                         ctx.self, *c.open_ref}));
      return;
    }
    // A newer report supersedes a bill never notified: it is billed again in full.
    if (b != bills_.end()) {
      c.requested -= std::min(c.requested, b->second.amount);
      save_payment(ctx, *c.open_ref, id, b->second.amount, nullptr, ctx.now, "superseded", "");
      bills_.erase(b);
    }
    c.open_ref.reset();
  }
  payment_ref ref{};
  if (owed > 0) {
    ref = random_ref<payment_ref>(ctx.random);
    bills_[ref] = billed{id, owed};
    c.open_ref = ref;
    c.open_seq = seq;
    c.requested += owed;
    save_payment(ctx, ref, id, owed, nullptr, ctx.now, "requested", "");
    fx.count("proxy.bills_sent");
  }
  save(ctx, id, c);
  settle_send(fx, c.peer, encode(payment_request{id, seq, claim, owed, owed, ctx.self, ref}));
}

void provider::on_notify(context& ctx, peer_id from, const payment_notify& m, effects& fx) {
  auto* c = authorised(from, m.client_id, m.token);
  if (!c)
    return fx.count("proxy.unauthorised");
  auto status = [&](pay_status s, std::string reason) {
    settle_send(fx, from, encode(payment_status{m.client_id, m.ref, m.tx, s, std::move(reason)}));
  };
  if (auto v = verifying_.find(m.ref); v != verifying_.end()) {
    if (v->second.tx == m.tx && v->second.client_id == m.client_id)
      return status(pay_status::received, ""); // our acknowledgement was lost
    return status(pay_status::failed, "reference already notified with another transaction");
  }
  auto b = bills_.find(m.ref);
  if (b == bills_.end() || b->second.client_id != m.client_id)
    return status(pay_status::failed, "unknown payment reference");
  if (used_tx_.count(m.tx)) {
    fx.count("proxy.duplicate_tx");
    status(pay_status::failed, "duplicate tx id: it already paid another reference");
    if (c->status == "active")
      terminate(ctx, m.client_id, *c, end_reason::payment_failed, "reused a transaction id", fx);
    return;
  }
  if (used_tx_.size() >= bounds::used_tx_max)
    return status(pay_status::failed, "internal error: too many payments remembered");
  auto amount = b->second.amount;
  bills_.erase(b);
  if (c->open_ref == m.ref)
    c->open_ref.reset();
  used_tx_.insert(m.tx);
  c->unconfirmed += amount;
  c->stalled_since.reset(); // the data plane goes on; a new pause reports again
  auto& v = verifying_[m.ref] = verifying{m.client_id, amount, m.tx, ctx.now, 0, ctx.now};
  save_payment(ctx, m.ref, m.client_id, amount, &m.tx, ctx.now, "verifying", "");
  save(ctx, m.client_id, *c);
  emit_allowance(m.client_id, *c, fx);
  fx.count("proxy.notifications_received");
  status(pay_status::received, "");
  query(ctx, m.ref, v, fx);
}

void provider::query(context& ctx, const payment_ref& ref, verifying& v, effects& fx) {
  auto id = ++req_seq_;
  queries_[id] = ref;
  v.last_query = ctx.now;
  settle_send(fx, cfg_.ledger, ledger::encode(ledger::tx_status_req{id, ports::proxy, v.tx}));
}

void provider::on_tx_status(context& ctx, const ledger::tx_status_reply& s, effects& fx) {
  auto q = queries_.find(s.req_id);
  if (q == queries_.end())
    return;
  auto ref = q->second;
  queries_.erase(q);
  auto it = verifying_.find(ref);
  if (it == verifying_.end() || it->second.tx != s.id)
    return;
  auto& v = it->second;
  auto c = clients_.find(v.client_id);
  switch (s.status) {
  case ledger::tx_status::confirmed:
    if (c == clients_.end() || s.to != ctx.self || s.from != c->second.peer)
      return fail_payment(ctx, ref, "the transaction pays another account or comes from another",
                          fx);
    if (s.amount < v.amount)
      return fail_payment(
        ctx, ref, "underpaid: " + std::to_string(s.amount) + " of " + std::to_string(v.amount), fx);
    return verified(ctx, ref, fx);
  case ledger::tx_status::replaced:
    return fail_payment(ctx, ref, "the transaction was replaced (double spend)", fx);
  case ledger::tx_status::unknown:
    if (ctx.now - v.deadline_from >= cfg_.unknown_grace)
      return fail_payment(ctx, ref, "the ledger does not know the transaction", fx);
    return;
  default:
    return; // pending or not deep enough: asked again at the next poll
  }
}

void provider::verified(context& ctx, const payment_ref& ref, effects& fx) {
  auto v = verifying_.at(ref);
  verifying_.erase(ref);
  save_payment(ctx, ref, v.client_id, v.amount, &v.tx, v.notified, "verified", "");
  auto it = clients_.find(v.client_id);
  if (it == clients_.end())
    return;
  auto& c = it->second;
  c.unconfirmed -= std::min(c.unconfirmed, v.amount);
  c.confirmed += v.amount;
  save(ctx, v.client_id, c);
  fx.count("proxy.payments_verified");
  settle_send(fx, c.peer, encode(payment_status{v.client_id, ref, v.tx, pay_status::verified, ""}));
  fx.emit(event{"proxy_payment_verified",
                0,
                {{"client", std::to_string(v.client_id)}, {"peer", std::to_string(c.peer)}},
                {{"amount", static_cast<double>(v.amount)},
                 {"latency_us", static_cast<double>(ctx.now - v.notified)}}});
}

void provider::fail_payment(context& ctx, const payment_ref& ref, const std::string& reason,
                            effects& fx) {
  auto v = verifying_.at(ref);
  verifying_.erase(ref);
  save_payment(ctx, ref, v.client_id, v.amount, &v.tx, v.notified, "failed", reason);
  fx.count("proxy.payments_failed");
  auto it = clients_.find(v.client_id);
  if (it == clients_.end())
    return;
  auto& c = it->second;
  c.unconfirmed -= std::min(c.unconfirmed, v.amount);
  settle_send(fx, c.peer,
              encode(payment_status{v.client_id, ref, v.tx, pay_status::failed, reason}));
  if (c.status == "active")
    terminate(ctx, v.client_id, c, end_reason::payment_failed, reason, fx);
  else
    save(ctx, v.client_id, c);
}

void provider::terminate(context& ctx, std::uint64_t id, client& c, end_reason why,
                         std::string text, effects& fx) {
  c.status = "terminated";
  c.reason = std::string(end_reason_name(why)) + ": " + text;
  c.reason.resize(std::min(c.reason.size(), bounds::reason_max));
  save(ctx, id, c);
  fx.count("proxy.cut_offs");
  settle_send(fx, c.peer, encode(session_ended{id, why, text}));
  const std::uint64_t owed = fee_of(c.used(), c.fee_per_kb);
  fx.emit(event{"proxy_cut_off",
                0,
                {{"client", std::to_string(id)},
                 {"peer", std::to_string(c.peer)},
                 {"reason", end_reason_name(why)},
                 {"text", text}},
                {{"bytes", static_cast<double>(c.used())},
                 {"owed", static_cast<double>(owed)},
                 {"confirmed", static_cast<double>(c.confirmed)},
                 {"unconfirmed", static_cast<double>(c.unconfirmed)}}});
}

// Clients paused at their allowance that paid nothing since, for stall_deadline.
void provider::cut_stalled(context& ctx, effects& fx) {
  for (auto it = stalled_.begin(); it != stalled_.end();) {
    auto c = clients_.find(*it);
    if (c == clients_.end() || c->second.status != "active" || !c->second.stalled_since) {
      it = stalled_.erase(it);
      continue;
    }
    auto& cl = c->second;
    if (ctx.now - *cl.stalled_since >= cfg_.stall_deadline) {
      auto id = *it;
      it = stalled_.erase(it);
      terminate(ctx, id, cl, end_reason::unpaid,
                "paused at its credit window of " + std::to_string(cfg_.credit_window) + " B for " +
                  std::to_string((ctx.now - *cl.stalled_since) / us_per_s) + " s without paying",
                fx);
      continue;
    }
    ++it;
  }
}

void provider::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != tick_token_)
    return;
  std::vector<payment_ref> late;
  for (auto& [ref, v] : verifying_) {
    if (ctx.now - v.deadline_from >= cfg_.confirm_deadline)
      late.push_back(ref);
    else if (ctx.now - v.last_query >= cfg_.poll_interval)
      query(ctx, ref, v, fx);
  }
  for (auto& ref : late)
    fail_payment(ctx, ref, "not confirmed within the deadline", fx);
  cut_stalled(ctx, fx);
  // Forget status queries whose answers were lost (a later poll asks again).
  while (queries_.size() > 4 * verifying_.size() + 16)
    queries_.erase(queries_.begin());
  fx.after(cfg_.poll_interval, tick_token_);
}

} // namespace peerlab::proxy
