#include "protocols/market/gate.hpp"

#include "protocols/market/tables.hpp"

#include <algorithm>
#include <charconv>

namespace peerlab::market {

namespace {

payment_ref random_ref(rng& r) {
  payment_ref ref{};
  for (std::size_t i = 0; i < ref.size(); i += 8) {
    std::uint64_t v = r.next();
    for (std::size_t k = 0; k < 8; ++k)
      ref[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
  }
  return ref;
}

} // namespace

std::uint64_t due_for(std::uint64_t price, std::uint64_t size, std::uint64_t bytes) {
  if (size == 0)
    return price;
  bytes = std::min(bytes, size);
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(price) * bytes / size);
}

gate::gate(gate_config c) : cfg_(c) {}

std::vector<const table_schema*> gate::tables() const {
  return {&tables::payments(), &tables::inbox(),        &tables::blacklist(),
          &tables::credit(),   &tables::credit_bills(), &tables::provided_files()};
}

void gate::start(context&, effects&) {
  peers_.clear(); // reloaded from the Credit rows on first contact
}

// ---- the Credit tables: CreditPurchases, and CreditBills in order -----------

gate::peer_state& gate::peer(context& ctx, peer_id p) {
  auto it = peers_.find(p);
  if (it != peers_.end())
    return it->second;
  peer_state& st = peers_[p];
  ctx.store.scan(tables::credit(), peer_key(p), [&](const peerlab::row& r) {
    purchase pu;
    auto ref = ref_of(r.cells[2]);
    if (!ref)
      return;
    pu.ref = *ref;
    pu.size = r.u64(3);
    pu.price = r.u64(4);
    pu.billable = r.u64(5);
    pu.billed = r.u64(6);
    pu.paid = r.u64(7);
    pu.last_sent = r.integer(8);
    pu.bills_made = static_cast<std::uint32_t>(r.u64(9));
    st.open[r.hash(1)] = std::move(pu);
  });
  ctx.store.scan(tables::credit_bills(), peer_key(p), [&](const peerlab::row& r) {
    auto open = st.open.find(r.hash(1));
    auto ref = ref_of(r.cells[3]);
    if (open != st.open.end() && ref)
      open->second.outstanding.push_back({*ref, r.u64(4)});
  });
  if (auto why = ctx.store.get(tables::blacklist(), peer_key(p))) {
    st.blacklisted = true;
    st.reason = why->text(1);
  }
  return st;
}

void gate::persist(context& ctx, peer_id p, const peer_state& st) {
  // Rewrites the peer's rows: a handful (bounded by max_open_purchases_per_peer).
  for (auto* t : {&tables::credit(), &tables::credit_bills()})
    ctx.store.scan(*t, peer_key(p),
                   [&](const peerlab::row& r) { ctx.store.erase(*t, key_of(*t, r)); });
  for (auto& [h, pu] : st.open) {
    ctx.store.put(tables::credit(),
                  {cell_u64(p), cell_digest(h), bytes(pu.ref.begin(), pu.ref.end()),
                   cell_u64(pu.size), cell_u64(pu.price), cell_u64(pu.billable),
                   cell_u64(pu.billed), cell_u64(pu.paid), std::int64_t{pu.last_sent},
                   cell_u64(pu.bills_made)});
    std::int64_t position = 0;
    for (auto& b : pu.outstanding)
      ctx.store.put(tables::credit_bills(), {cell_u64(p), cell_digest(h), position++,
                                             bytes(b.ref.begin(), b.ref.end()), cell_u64(b.bytes)});
  }
}

std::uint64_t gate::exposure(const peer_state& st) const {
  std::uint64_t e = 0;
  for (auto& [_, pu] : st.open)
    e += pu.unpaid();
  return e;
}

std::uint64_t gate::exposure(peer_id p) const {
  auto it = peers_.find(p);
  return it == peers_.end() ? 0 : exposure(it->second);
}

std::uint64_t gate::largest_open(const peer_state& st) const {
  std::uint64_t m = 0;
  for (auto& [_, pu] : st.open)
    m = std::max(m, pu.size);
  return m;
}

std::size_t gate::owing(const peer_state& st, const digest& except) const {
  std::size_t n = 0;
  for (auto& [h, pu] : st.open)
    if (h != except && pu.unpaid() > 0)
      ++n;
  return n;
}

void gate::make_bill(context& ctx, peer_id p, const digest& hash, purchase& pu, std::uint64_t bytes,
                     effects& fx) {
  if (bytes == 0)
    return;
  std::uint64_t from = pu.billed, to = pu.billed + bytes;
  std::uint64_t amount = due_for(pu.price, pu.size, to) - due_for(pu.price, pu.size, from);
  pu.billed = to;
  if (amount == 0) { // too few bytes to cost anything: nothing to pay
    pu.paid += bytes;
    return;
  }
  payment_ref ref = pu.bills_made == 0 ? pu.ref : random_ref(ctx.random);
  ++pu.bills_made;
  pu.outstanding.push_back({ref, bytes});
  if (cfg_.cheat == biller::inflated_bills)
    amount *= 2;
  digest named = hash;
  if (cfg_.cheat == biller::wrong_hash_bills)
    named[0] ^= 0x5a;
  send_bill(ctx, p, named, ref, amount, from, to, fx);
  cheat(ctx, p, hash, amount, from, to, fx);
}

void gate::send_bill(context& ctx, peer_id p, const digest& hash, const payment_ref& ref,
                     std::uint64_t amount, std::uint64_t from, std::uint64_t to, effects& fx) {
  row r;
  r.set("cat", "expected");
  r.set("peer", std::to_string(p));
  r.set("hash", to_hex(hash));
  r.set("amount", amount);
  r.set("from", from);
  r.set("to", to);
  r.set("status", "requested");
  r.set_i("requested_at", ctx.now);
  r.set_i("deadline", ctx.now + cfg_.payment_deadline);
  r.set("policy", policy_name(cfg_.kind));
  std::string key = ref_hex(ref);
  save(ctx.store, tables::payments(), payment_key("in", ref), r);
  ctx.store.put(tables::inbox(), peerlab::row(ref_key(ref)));
  auto due_ms =
    static_cast<std::uint32_t>(std::min<time_us>(cfg_.payment_deadline / 1000, UINT32_MAX));
  fx.send(p, encode(payment_request{ref, hash, amount, ctx.self, from, to, due_ms}));
  fx.count("market.bills");
  fx.emit(
    event{"payment_requested",
          0,
          {{"peer", std::to_string(p)}, {"ref", key}, {"policy", policy_name(cfg_.kind)}},
          {{"amount", static_cast<double>(amount)}, {"bytes", static_cast<double>(to - from)}}});
}

void gate::cheat(context& ctx, peer_id p, const digest& hash, std::uint64_t amount,
                 std::uint64_t from, std::uint64_t to, effects& fx) {
  // The extra bills are booked like real ones: the verifier expects them paid.
  switch (cfg_.cheat) {
  case biller::double_bills:
    fx.count("market.cheat_bills");
    return send_bill(ctx, p, hash, random_ref(ctx.random), amount, from, to, fx);
  case biller::unsolicited_bills:
    fx.count("market.cheat_bills");
    return send_bill(ctx, p + 1, hash, random_ref(ctx.random), amount, from, to, fx);
  default:
    return;
  }
}

void gate::close_finished(context& ctx, peer_state& st) {
  for (auto it = st.open.begin(); it != st.open.end();) {
    auto& pu = it->second;
    if (pu.billable >= pu.size && pu.paid >= pu.size && pu.outstanding.empty()) {
      key k{cell_digest(it->first)};
      auto pf = load(ctx.store, tables::provided_files(), k).value_or(row{});
      pf.set("paid_sales", pf.u64("paid_sales") + 1);
      save(ctx.store, tables::provided_files(), k, pf);
      it = st.open.erase(it);
    } else {
      ++it;
    }
  }
}

void gate::refresh(context& ctx, peer_id p, peer_state& st, effects& fx) {
  // The verifier may also clear a peer that paid late.
  auto why = ctx.store.get(tables::blacklist(), peer_key(p));
  st.blacklisted = why.has_value();
  st.reason = why ? why->text(1) : std::string();
  for (auto& [h, pu] : st.open) {
    for (auto b = pu.outstanding.begin(); b != pu.outstanding.end();) {
      auto r = load(ctx.store, tables::payments(), payment_key("in", b->ref));
      std::string s = r ? r->str("status") : "failed";
      // A bill that only missed its deadline stays outstanding: it may be paid late.
      if (s == "verified" || s == "late_paid") {
        pu.paid += b->bytes;
        b = pu.outstanding.erase(b);
      } else if (s == "failed" && (!r || !r->str("reason").starts_with("not paid"))) {
        b = pu.outstanding.erase(b); // stays unpaid; the verifier blacklisted the peer
      } else {
        ++b;
      }
    }
    if (cfg_.kind != policy::prepay && pu.billable > pu.billed &&
        ctx.now - pu.last_sent >= cfg_.idle_bill_after)
      make_bill(ctx, p, h, pu, pu.billable - pu.billed, fx);
  }
  close_finished(ctx, st);
  persist(ctx, p, st);
}

void gate::tick(context& ctx, effects& fx) {
  // A bounded number of peers per tick, round-robin, so the cost of a tick
  // does not grow with the number of peers that owe something.
  constexpr std::size_t per_tick = 64;
  std::vector<peer_id> batch;
  auto it = peers_.lower_bound(tick_cursor_);
  while (batch.size() < per_tick && batch.size() < peers_.size()) {
    if (it == peers_.end())
      it = peers_.begin();
    batch.push_back(it->first);
    ++it;
  }
  tick_cursor_ = it == peers_.end() ? 0 : it->first;
  for (auto p : batch) {
    auto f = peers_.find(p);
    refresh(ctx, p, f->second, fx);
    // Peers that owe nothing, and blacklisted ones, leave memory; their rows stay.
    if (f->second.open.empty() || f->second.blacklisted)
      peers_.erase(f);
  }
}

filexfer::payment_gate::admission gate::admit(context& ctx, peer_id p, const file_info& file,
                                              effects& fx) {
  admission a;
  if (auto why = ctx.store.get(tables::blacklist(), peer_key(p))) {
    fx.count("market.refused_blacklisted");
    a.refused = true;
    a.reason = "payment refused: " + why->text(1);
    return a;
  }
  if (file.price == 0) {
    a.ref = random_ref(ctx.random);
    return a;
  }
  auto& st = peer(ctx, p);
  refresh(ctx, p, st, fx);
  auto it = st.open.find(file.hash);
  if (it == st.open.end()) {
    // Every bill may end in a transaction the verifier must remember in UsedTx
    // to catch its reuse. New purchases stop while that table could not take
    // every open payment, so no payer pays a transaction that goes unrecorded.
    auto& used = tables::used_tx();
    if (ctx.store.count(used) + bounds::open_payments_max >= ctx.store.capacity(used)) {
      fx.count("market.refused_payments_full");
      a.refused = true;
      a.reason = "payment refused: this provider cannot record more payments (UsedTx is full)";
      return a;
    }
    if (st.open.size() >= bounds::open_purchases_per_peer_max) {
      fx.count("market.refused_open_purchases");
      a.refused = true;
      a.reason = "payment refused: too many unpaid purchases";
      return a;
    }
    purchase pu;
    pu.ref = random_ref(ctx.random);
    pu.size = file.size;
    pu.price = file.price;
    pu.last_sent = ctx.now;
    it = st.open.emplace(file.hash, pu).first;
    key k{cell_digest(file.hash)};
    auto pf = load(ctx.store, tables::provided_files(), k).value_or(row{});
    pf.set("name", file.name);
    pf.set("size", file.size);
    pf.set("price", file.price);
    pf.set("sales", pf.u64("sales") + 1);
    save(ctx.store, tables::provided_files(), k, pf);
    if (cfg_.kind == policy::prepay)
      make_bill(ctx, p, file.hash, it->second, file.size, fx);
    persist(ctx, p, st);
  }
  a.ref = it->second.ref;
  return a;
}

filexfer::payment_gate::verdict gate::decide(const peer_state& st, const purchase& pu,
                                             std::uint64_t inc) const {
  if (st.blacklisted)
    return verdict::refuse;
  switch (cfg_.kind) {
  case policy::prepay:
    return pu.billable + inc <= pu.paid ? verdict::send : verdict::hold;
  case policy::pay_per_window:
    return exposure(st) + inc <= cfg_.window_bytes ? verdict::send : verdict::hold;
  case policy::pay_after: {
    if (inc == 0 || pu.unpaid() > 0)
      return verdict::send; // already one of the files this peer owes for
    // pu owes nothing yet, so it is not among the files owing()
    return owing(st, digest{}) < cfg_.max_open_purchases ? verdict::send : verdict::hold;
  }
  }
  return verdict::hold;
}

filexfer::payment_gate::verdict gate::may_send(context& ctx, peer_id p, const file_info& file,
                                               std::uint64_t, std::size_t len, effects& fx) {
  if (file.price == 0)
    return ctx.store.get(tables::blacklist(), peer_key(p)) ? verdict::refuse : verdict::send;
  auto& st = peer(ctx, p);
  auto it = st.open.find(file.hash);
  if (it == st.open.end())
    return verdict::refuse; // not admitted (or closed): the provider must ask admit() first
  auto inc = [&] {
    return std::min<std::uint64_t>(it->second.billable + len, it->second.size) -
           it->second.billable;
  };
  auto v = decide(st, it->second, inc());
  if (v != verdict::hold)
    return v;
  refresh(ctx, p, st, fx);
  it = st.open.find(file.hash);
  if (it == st.open.end())
    return verdict::refuse;
  v = decide(st, it->second, inc());
  if (v == verdict::hold) {
    // Whatever is unbilled is billed now, or a hold could wait for nothing.
    if (cfg_.kind != policy::prepay) {
      for (auto& [h, pu] : st.open)
        if (pu.billable > pu.billed)
          make_bill(ctx, p, h, pu, pu.billable - pu.billed, fx);
      persist(ctx, p, st);
    }
    fx.count("market.holds");
  } else if (v == verdict::refuse) {
    fx.count("market.refused_blacklisted");
  }
  return v;
}

void gate::sent(context& ctx, peer_id p, const file_info& file, std::uint64_t, std::size_t len,
                effects& fx) {
  if (file.price == 0)
    return;
  auto& st = peer(ctx, p);
  auto it = st.open.find(file.hash);
  if (it == st.open.end())
    return;
  auto& pu = it->second;
  std::uint64_t inc = std::min<std::uint64_t>(pu.billable + len, pu.size) - pu.billable;
  pu.billable += inc;
  pu.last_sent = ctx.now;
  if (inc > 0) {
    fx.count("market.bytes_billable", static_cast<double>(inc));
    fx.emit(event{"market_served",
                  0,
                  {{"peer", std::to_string(p)}, {"policy", policy_name(cfg_.kind)}},
                  {{"bytes", static_cast<double>(inc)},
                   {"exposure", static_cast<double>(exposure(st))},
                   {"bound", static_cast<double>(cfg_.exposure_bound(largest_open(st)))}}});
  }
  bool bill_now = false;
  if (cfg_.kind == policy::pay_per_window)
    bill_now = pu.billable - pu.billed >= std::max<std::uint64_t>(cfg_.window_bytes / 2, 1) ||
               (pu.billable == pu.size && pu.billed < pu.size);
  else if (cfg_.kind == policy::pay_after)
    bill_now = pu.billable == pu.size && pu.billed < pu.size;
  if (bill_now)
    make_bill(ctx, p, file.hash, pu, pu.billable - pu.billed, fx);
  close_finished(ctx, st);
  persist(ctx, p, st);
  if (st.open.empty() && !st.blacklisted)
    peers_.erase(p); // nothing owed: reloaded from the rows if it comes back
}

} // namespace peerlab::market
