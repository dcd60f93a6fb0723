// The provider's payment hooks: a provider with a payment gate asks
// it before every chunk; a held upload is parked and looked at again every
// recheck_interval, so a paid bill resumes it without any message.
#include "protocols/filexfer/payment_gate.hpp"
#include "protocols/filexfer/provider.hpp"

namespace peerlab::filexfer {

bool provider::gate_allows(context& ctx, const upload_key& key, upload& u, bool& ended,
                           effects& fx) {
  if (u.next >= u.end)
    return true; // only CONTENT_END is left
  auto len = static_cast<std::size_t>(std::min<std::uint64_t>(u.chunk, u.end - u.next));
  auto v = cfg_.gate->may_send(ctx, key.first, u.file, u.next, len, fx);
  if (cfg_.gate->wants_tick())
    schedule_recheck(fx);
  switch (v) {
  case payment_gate::verdict::send:
    return true;
  case payment_gate::verdict::hold:
    fx.count("filexfer.uploads_held");
    held_.push_back(key);
    schedule_recheck(fx);
    return false;
  case payment_gate::verdict::refuse:
    fx.send(key.first,
            encode(content_err{key.second, error_code::not_provider,
                               "payment refused: the peer's payments failed verification"}));
    ended = true;
    return false;
  }
  return true;
}

void provider::schedule_recheck(effects& fx) {
  if (recheck_token_ != 0)
    return;
  recheck_token_ = ++token_base_;
  if (recheck_token_ == 0)
    recheck_token_ = ++token_base_;
  fx.after(cfg_.gate->recheck_interval(), recheck_token_);
}

void provider::recheck(context& ctx, effects& fx) {
  // The gate's own bookkeeping first (settled bills, idle purchases).
  recheck_token_ = 0;
  cfg_.gate->tick(ctx, fx);
  if (cfg_.gate->wants_tick())
    schedule_recheck(fx);
  // Back into the round-robin: take_turn asks the gate again and re-parks
  // those still waiting. Superseded ones are gone from uploads_ and skipped.
  while (!held_.empty()) {
    ready_.push_back(held_.front());
    held_.pop_front();
  }
  if (!ready_.empty())
    schedule_turn(fx);
}

} // namespace peerlab::filexfer
