// The client's half of the ProxyPaymentLoop: usage reports, the provider's
// figures checked within the band, payment through the ledger, notification.
#include "protocols/common/stable_hash.hpp"
#include "protocols/proxy/client.hpp"

namespace peerlab::proxy {

namespace {
constexpr std::uint32_t resends_max = 10;
}

void client::loop(context& ctx, effects& fx) {
  if (!s_ || (phase_ != phase::active && phase_ != phase::closing))
    return;
  for (auto& [id, f] : fetches_)
    if (ctx.now - f.last_byte >= cfg_.response_timeout) {
      fx.count("proxy.requests_unanswered");
      return leave(ctx, end_reason::service_failed,
                   "no answer to a request within the response timeout", fx);
    }
  if (pay_) {
    if (ctx.now - pay_->last_sent < cfg_.resend_interval)
      return;
    if (++pay_->resends > resends_max) {
      fx.count("proxy.payments_abandoned");
      pay_.reset();
      report_open_ = false;
      return;
    }
    return pay_->transferred ? send_notify(ctx, fx) : send_transfer(ctx, fx);
  }
  if (report_open_) {
    if (ctx.now - report_sent_ < cfg_.resend_interval)
      return;
    if (++report_resends_ > resends_max)
      return end_session(ctx, end_reason::service_failed, "usage reports went unanswered", true,
                         fx);
    return report(ctx, true, fx);
  }
  report(ctx, false, fx);
}

void client::report(context& ctx, bool again, effects& fx) {
  if (!s_)
    return;
  auto& s = *s_;
  if (!again) {
    if (cfg_.cheat == client_strategy::stops_paying && payments_made_ >= 1)
      return phase_ == phase::closing ? finish_close(ctx, fx) : void();
    stated_ = s.used();
    if (cfg_.cheat == client_strategy::under_reports)
      stated_ = static_cast<std::uint64_t>(static_cast<double>(stated_) * (1 - cfg_.under_factor));
    auto due = fee_of(stated_, s.info.fee_per_kb);
    stated_owed_ = due > s.sent() ? due - s.sent() : 0;
    if (stated_owed_ == 0 && fee_of(s.used(), s.info.fee_per_kb) <= s.sent())
      return phase_ == phase::closing ? finish_close(ctx, fx) : void();
    ++report_seq_;
    report_resends_ = 0;
    reported_at_ = s.used();
  }
  report_open_ = true;
  report_sent_ = ctx.now;
  fx.count("proxy.reports_sent");
  settle_send(fx, s.provider,
              encode(usage_report{s.client_id, s.token, report_seq_, stated_, stated_owed_}));
}

void client::on_request(context& ctx, peer_id from, const payment_request& m, effects& fx) {
  if (!s_ || from != s_->provider || m.client_id != s_->client_id)
    return fx.count("proxy.stray_bills");
  auto& s = *s_;
  if (pay_ && pay_->ref == m.ref) { // our notification (or transfer) may be lost: go on
    if (pay_->transferred)
      send_notify(ctx, fx);
    return;
  }
  if (!report_open_ || m.seq != report_seq_)
    return fx.count("proxy.stray_bills");
  report_open_ = false;
  // The provider's figures against this client's own count, within the band.
  const std::uint64_t mine = s.used();
  const std::uint64_t ceiling = mine + cfg_.tolerance.margin(mine);
  const std::uint64_t max_due = fee_of(ceiling, s.info.fee_per_kb);
  const std::uint64_t max_owed = max_due > s.sent() ? max_due - s.sent() : 0;
  std::string wrong;
  if (m.provider_bytes > ceiling)
    wrong = "provider states " + std::to_string(m.provider_bytes) + " B, counted " +
            std::to_string(mine) + " B";
  else if (m.amount > max_owed)
    wrong = "bill of " + std::to_string(m.amount) + " over the " + std::to_string(max_owed) +
            " owed at most";
  else if (m.amount > 0 && m.recipient != s.info.recipient)
    wrong = "the bill names another recipient than the session's";
  if (!wrong.empty()) {
    fx.count("proxy.bills_refused");
    return end_session(ctx, end_reason::out_of_tolerance, wrong, true, fx);
  }
  std::uint64_t paying = m.amount;
  if (cfg_.cheat == client_strategy::under_reports)
    paying = std::min(paying, stated_owed_);
  if (paying == 0)
    return phase_ == phase::closing ? finish_close(ctx, fx) : void();
  pay_ = payment{};
  pay_->ref = m.ref;
  pay_->amount = paying;
  pay_->nonce = stable_hash(m.ref.data(), m.ref.size(), s.provider);
  send_transfer(ctx, fx);
}

void client::on_refused(context& ctx, peer_id from, const usage_refused& m, effects& fx) {
  if (!s_ || from != s_->provider || m.client_id != s_->client_id || !report_open_ ||
      m.seq != report_seq_)
    return fx.count("proxy.stray_refusals");
  report_open_ = false;
  fx.count("proxy.reports_refused");
  fx.emit(
    event{"proxy_usage_refused",
          0,
          {{"provider", std::to_string(from)}, {"refusal", refusal_name(m.why)}, {"text", m.text}},
          {{"stated", static_cast<double>(stated_)},
           {"provider_bytes", static_cast<double>(m.provider_bytes)}}});
  // Out of the band: the provider counts strikes and may end the session; the
  // next report states the figures again. A cut-off or unknown session is over.
  if (m.why != refusal::out_of_tolerance)
    end_session(ctx, m.why == refusal::terminated ? end_reason::unpaid : end_reason::service_failed,
                std::string("usage refused: ") + refusal_name(m.why) + ": " + m.text, false, fx);
  else if (phase_ == phase::closing)
    finish_close(ctx, fx);
}

void client::send_transfer(context& ctx, effects& fx) {
  auto& p = *pay_;
  p.req_id = ++req_seq_;
  p.last_sent = ctx.now;
  fx.count("proxy.transfers_sent");
  settle_send(fx, cfg_.ledger,
              ledger::encode(ledger::transfer{p.req_id, ports::proxy_client, ctx.self,
                                              s_->info.recipient, p.amount, cfg_.tx_fee, p.nonce}));
}

void client::send_notify(context& ctx, effects& fx) {
  auto& p = *pay_;
  p.last_sent = ctx.now;
  fx.count("proxy.notifications_sent");
  settle_send(fx, s_->provider, encode(payment_notify{s_->client_id, s_->token, p.ref, p.tx}));
}

void client::on_ledger(context& ctx, const ledger::message& msg, effects& fx) {
  std::uint64_t req = 0;
  if (auto* ok = std::get_if<ledger::transfer_ok>(&msg))
    req = ok->req_id;
  else if (auto* err = std::get_if<ledger::transfer_err>(&msg))
    req = err->req_id;
  if (!pay_ || !s_ || pay_->transferred || req != pay_->req_id)
    return;
  if (auto* err = std::get_if<ledger::transfer_err>(&msg)) {
    fx.count("proxy.transfers_refused");
    fx.emit(event{"proxy_payment_error",
                  0,
                  {{"provider", std::to_string(s_->provider)},
                   {"reason", std::string(ledger::error_name(err->code)) + ": " + err->text}},
                  {{"amount", static_cast<double>(pay_->amount)}}});
    pay_.reset();
    return phase_ == phase::closing ? finish_close(ctx, fx) : void();
  }
  auto& p = *pay_;
  p.tx = std::get<ledger::transfer_ok>(msg).id;
  p.transferred = true;
  p.resends = 0;
  s_->unconfirmed += p.amount;
  notified_[p.ref] = p.amount;
  ++payments_made_;
  save(ctx);
  fx.emit(event{"proxy_payment_sent",
                0,
                {{"provider", std::to_string(s_->provider)}},
                {{"amount", static_cast<double>(p.amount)}}});
  send_notify(ctx, fx);
}

void client::on_status(context& ctx, peer_id from, const payment_status& m, effects& fx) {
  if (!s_ || from != s_->provider || m.client_id != s_->client_id)
    return fx.count("proxy.stray_statuses");
  const bool ours = pay_ && pay_->ref == m.ref && pay_->transferred;
  if (ours)
    pay_.reset(); // the provider heard the notification
  auto n = notified_.find(m.ref);
  if (m.status == pay_status::verified && n != notified_.end()) {
    s_->unconfirmed -= std::min(s_->unconfirmed, n->second);
    s_->confirmed += n->second;
    notified_.erase(n);
    save(ctx);
  } else if (m.status == pay_status::failed && n != notified_.end()) {
    fx.count("proxy.payments_rejected");
    fx.emit(event{"proxy_payment_rejected",
                  0,
                  {{"provider", std::to_string(from)}, {"reason", m.reason}},
                  {{"amount", static_cast<double>(n->second)}}});
    notified_.erase(n);
  }
  if (ours && phase_ == phase::closing)
    finish_close(ctx, fx);
}

void client::finish_close(context& ctx, effects& fx) {
  if (!s_ || phase_ != phase::closing)
    return;
  auto [why, text] = leaving_.value_or(std::pair{end_reason::client_closed, "closed by the user"});
  leaving_.reset();
  // SESSION_END says "the last settlement went through". One that did not
  // finish in time (no answer to the report: the provider was down; a bill
  // still being paid: the ledger was slow) leaves without it: the provider
  // keeps the session open on its credit window rather than cutting off a
  // client that left owing, and a later connect to it continues the session
  // from our row and pays the rest.
  const bool square = !report_open_ && !pay_;
  if (!square)
    fx.count("proxy.left_unsettled");
  end_session(ctx, why, text, square, fx);
}

void client::leave(context& ctx, end_reason why, const std::string& text, effects& fx) {
  if (!s_ || phase_ != phase::active)
    return;
  // Pay for what arrived before moving on, as a close does: a provider that
  // failed to answer may still be there to bill (it restarted, or only its
  // data plane broke), and an honest client leaves nothing unpaid. The
  // settlement is bounded by the closing phase's deadline.
  fail_fetches("the session is ending: " + text, fx);
  leaving_ = std::pair{why, text};
  set_phase(ctx, phase::closing, 4 * cfg_.resend_interval, fx);
  s_->status = "closing";
  save(ctx);
  report(ctx, false, fx);
}

} // namespace peerlab::proxy
