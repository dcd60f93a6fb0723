#include "protocols/ledger/chain.hpp"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace peerlab::ledger {

namespace {

constexpr const char* t_accounts = "LedgerAccounts";
constexpr const char* t_txs = "LedgerTxs";
constexpr const char* t_meta = "LedgerMeta";

bool add_overflows(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b; }

std::string account_key(account_id a) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(a));
  return buf;
}

// Space-separated unsigned integers of a stored row.
std::vector<std::uint64_t> numbers(std::string_view s) {
  std::vector<std::uint64_t> out;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (p < end) {
    while (p < end && *p == ' ')
      ++p;
    if (p == end)
      break;
    std::uint64_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc{})
      return {};
    out.push_back(v);
    p = next;
  }
  return out;
}

} // namespace

const char* status_name(tx_status s) {
  switch (s) {
  case tx_status::unknown:
    return "unknown";
  case tx_status::pending:
    return "pending";
  case tx_status::in_block:
    return "in_block";
  case tx_status::confirmed:
    return "confirmed";
  case tx_status::replaced:
    return "replaced";
  }
  return "?";
}

std::string config::check() const {
  if (block_interval <= 0)
    return "block_interval must be positive";
  if (confirmations == 0)
    return "confirmations must be at least 1";
  if (supply == 0)
    return "supply must be positive";
  if (max_block_txs == 0)
    return "max_block_txs must be at least 1";
  return "";
}

tx_id make_tx_id(account_id from, account_id to, std::uint64_t amount, std::uint64_t fee,
                 std::uint64_t nonce) {
  bytes b;
  static constexpr char tag[] = "peerlab-ledger-tx-v1";
  b.insert(b.end(), tag, tag + sizeof tag - 1);
  for (std::uint64_t v : {from, to, amount, fee, nonce})
    for (int i = 0; i < 8; ++i)
      b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return sha256::of(b);
}

chain::chain(config c) : cfg_(c) { accounts_[treasury].balance = cfg_.supply; }

const tx_record* chain::find(const tx_id& id) const {
  auto it = txs_.find(id);
  return it == txs_.end() ? nullptr : &it->second;
}

submit_result chain::fund(account_id to, std::uint64_t amount) {
  submit_result r;
  auto fail = [&](error_code c, std::string t) {
    r.code = c;
    r.text = std::move(t);
    return r;
  };
  if (amount == 0 || to == treasury || to == fee_sink)
    return fail(error_code::bad_amount, "fund needs a positive amount and a non-reserved account");
  auto& t = acct(treasury);
  if (t.balance < amount)
    return fail(error_code::overdraft, "the treasury holds only " + std::to_string(t.balance));
  if (txs_.size() >= bounds::max_txs ||
      (!accounts_.count(to) && accounts_.size() >= bounds::max_accounts))
    return fail(error_code::full, "ledger tables are at their bound");
  std::uint64_t nonce = fund_nonce_++;
  tx_id id = make_tx_id(treasury, to, amount, 0, nonce);
  t.balance -= amount;
  acct(to).balance += amount;
  txs_[id] = tx_record{treasury, to, amount, 0, nonce, tx_status::in_block, height_, next_seq_++};
  nonce_holder_[{treasury, nonce}] = id;
  r.ok = true;
  r.id = id;
  return r;
}

submit_result chain::submit(account_id from, account_id to, std::uint64_t amount, std::uint64_t fee,
                            std::uint64_t nonce) {
  submit_result r;
  auto fail = [&](error_code c, std::string t) {
    r.code = c;
    r.text = std::move(t);
    return r;
  };
  if (from == treasury || from == fee_sink)
    return fail(error_code::not_owner, "reserved accounts cannot send");
  if (amount == 0)
    return fail(error_code::bad_amount, "amount must be positive");
  if (add_overflows(amount, fee))
    return fail(error_code::bad_amount, "amount + fee overflows");
  if (to == treasury || to == fee_sink)
    return fail(error_code::bad_amount, "cannot pay a reserved account");
  tx_id id = make_tx_id(from, to, amount, fee, nonce);
  r.id = id;
  if (auto known = txs_.find(id); known != txs_.end()) {
    if (known->second.status == tx_status::replaced)
      return fail(error_code::conflict,
                  "this transaction was replaced by another with the same nonce");
    r.ok = true; // a retransmission: same transaction, same answer
    r.duplicate = true;
    return r;
  }
  const std::uint64_t cost = amount + fee;
  tx_id* holder = nullptr;
  tx_record* old = nullptr;
  if (auto h = nonce_holder_.find({from, nonce}); h != nonce_holder_.end()) {
    holder = &h->second;
    old = &txs_.at(h->second);
    if (old->status != tx_status::pending)
      return fail(error_code::double_spend, "nonce " + std::to_string(nonce) +
                                              " is already spent in block " +
                                              std::to_string(old->height));
    if (!cfg_.replace_by_fee || fee <= old->fee)
      return fail(error_code::conflict, "nonce " + std::to_string(nonce) +
                                          " is held by a pending transaction with fee " +
                                          std::to_string(old->fee));
  }
  auto ai = accounts_.find(from);
  std::uint64_t balance = ai == accounts_.end() ? 0 : ai->second.balance;
  std::uint64_t pending = ai == accounts_.end() ? 0 : ai->second.pending_out;
  if (old)
    pending -= old->amount + old->fee; // the replaced one would no longer be pending
  if (pending > balance || balance - pending < cost)
    return fail(error_code::overdraft, "balance " + std::to_string(balance) + " minus pending " +
                                         std::to_string(pending) + " cannot cover " +
                                         std::to_string(cost));
  if (!old && mempool_.size() >= bounds::max_pending)
    return fail(error_code::full, "mempool full");
  if (txs_.size() >= bounds::max_txs ||
      (!accounts_.count(to) && accounts_.size() >= bounds::max_accounts))
    return fail(error_code::full, "ledger tables are at their bound");
  if (old) {
    drop_pending(*holder, *old);
    old->status = tx_status::replaced;
    r.replaced_other = true;
    r.replaced = *holder;
  }
  std::uint64_t seq = next_seq_++;
  txs_[id] = tx_record{from, to, amount, fee, nonce, tx_status::pending, 0, seq};
  nonce_holder_[{from, nonce}] = id;
  mempool_[seq] = id;
  acct(from).pending_out += cost;
  acct(to); // the payee exists from now on (balance 0 until a block)
  r.ok = true;
  return r;
}

void chain::drop_pending(const tx_id&, tx_record& r) {
  mempool_.erase(r.seq);
  acct(r.from).pending_out -= r.amount + r.fee;
}

std::vector<tx_id> chain::make_block() {
  ++height_;
  std::vector<tx_id> included;
  while (!mempool_.empty() && included.size() < cfg_.max_block_txs) {
    auto it = mempool_.begin();
    tx_id id = it->second;
    mempool_.erase(it);
    auto& r = txs_.at(id);
    auto& from = acct(r.from);
    std::uint64_t cost = r.amount + r.fee;
    // Admission kept pending_out <= balance, so this never underflows.
    from.pending_out -= cost;
    from.balance -= cost;
    acct(r.to).balance += r.amount;
    acct(fee_sink).balance += r.fee;
    r.status = tx_status::in_block;
    r.height = height_;
    included.push_back(id);
  }
  return included;
}

tx_status_reply chain::status(const tx_id& id) const {
  tx_status_reply s;
  s.id = id;
  s.tip = height_;
  auto it = txs_.find(id);
  if (it == txs_.end())
    return s;
  auto& r = it->second;
  s.status = r.status;
  s.from = r.from;
  s.to = r.to;
  s.amount = r.amount;
  s.fee = r.fee;
  s.nonce = r.nonce;
  if (r.status == tx_status::in_block) {
    s.height = r.height;
    s.depth = height_ - r.height + 1;
    if (s.depth > s.tip)
      s.depth = s.tip; // genesis funds sit at height 0
    if (s.depth >= cfg_.confirmations)
      s.status = tx_status::confirmed;
  }
  return s;
}

balance_reply chain::balance(account_id a) const {
  balance_reply b;
  b.account = a;
  b.tip = height_;
  if (auto it = accounts_.find(a); it != accounts_.end()) {
    b.balance = it->second.balance;
    b.pending_out = it->second.pending_out;
  }
  return b;
}

std::string chain::check_invariants() const {
  unsigned __int128 total = 0;
  for (auto& [id, a] : accounts_) {
    total += a.balance;
    if (a.pending_out > a.balance)
      return "account " + std::to_string(id) + " has pending spends " +
             std::to_string(a.pending_out) + " above its balance " + std::to_string(a.balance);
  }
  if (total != cfg_.supply)
    return "sum of balances differs from the supply " + std::to_string(cfg_.supply);
  return "";
}

// ---- rows -----------------------------------------------------------------

void chain::save_meta(kv_store& s) const {
  s.put(t_meta, "state",
        std::to_string(height_) + " " + std::to_string(next_seq_) + " " +
          std::to_string(fund_nonce_) + " " + std::to_string(cfg_.supply));
}

void chain::save_account(kv_store& s, account_id a) const {
  auto it = accounts_.find(a);
  s.put(t_accounts, account_key(a), std::to_string(it == accounts_.end() ? 0 : it->second.balance));
}

void chain::save_tx(kv_store& s, const tx_id& id) const {
  auto it = txs_.find(id);
  if (it == txs_.end())
    return;
  auto& r = it->second;
  std::ostringstream o;
  o << r.from << ' ' << r.to << ' ' << r.amount << ' ' << r.fee << ' ' << r.nonce << ' '
    << static_cast<unsigned>(r.status) << ' ' << r.height << ' ' << r.seq;
  s.put(t_txs, to_hex(id), o.str());
}

void chain::load(const kv_store& s) {
  auto meta = s.get(t_meta, "state");
  if (!meta)
    return; // a fresh ledger: genesis state from the config
  auto m = numbers(*meta);
  if (m.size() != 4 || m[3] != cfg_.supply)
    return; // rows from another configuration: start afresh rather than mix
  height_ = m[0];
  next_seq_ = m[1];
  fund_nonce_ = m[2];
  accounts_.clear();
  txs_.clear();
  nonce_holder_.clear();
  mempool_.clear();
  s.scan(t_accounts, [&](std::string_view k, std::string_view v) {
    std::uint64_t a = 0;
    auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), a, 16);
    auto n = numbers(v);
    if (ec == std::errc{} && p == k.data() + k.size() && n.size() == 1)
      accounts_[a].balance = n[0];
  });
  s.scan(t_txs, [&](std::string_view k, std::string_view v) {
    auto id = digest_from_hex(k);
    auto n = numbers(v);
    if (!id || n.size() != 8 || n[5] > static_cast<std::uint64_t>(tx_status::replaced))
      return;
    tx_record r{n[0], n[1], n[2], n[3], n[4], static_cast<tx_status>(n[5]), n[6], n[7]};
    txs_[*id] = r;
    if (r.status == tx_status::pending) {
      mempool_[r.seq] = *id;
      accounts_[r.from].pending_out += r.amount + r.fee;
    }
    if (r.status != tx_status::replaced)
      nonce_holder_[{r.from, r.nonce}] = *id;
  });
}

} // namespace peerlab::ledger
