#include "protocols/ledger/chain.hpp"

#include "protocols/ledger/tables.hpp"

#include <charconv>

namespace peerlab::ledger {

namespace {

bool add_overflows(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b; }

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
  if (txs_.size() >= bounds::txs_max ||
      (!accounts_.count(to) && accounts_.size() >= bounds::accounts_max))
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
  if (!old && mempool_.size() >= bounds::pending_max)
    return fail(error_code::full, "mempool full");
  if (txs_.size() >= bounds::txs_max ||
      (!accounts_.count(to) && accounts_.size() >= bounds::accounts_max))
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

void chain::save_meta(table_store& s) const {
  s.put(meta_table(), {std::string("state"), cell_u64(height_), cell_u64(next_seq_),
                       cell_u64(fund_nonce_), cell_u64(cfg_.supply)});
}

void chain::save_account(table_store& s, account_id a) const {
  auto it = accounts_.find(a);
  s.put(accounts_table(), {cell_u64(a), cell_u64(it == accounts_.end() ? 0 : it->second.balance)});
}

void chain::save_tx(table_store& s, const tx_id& id) const {
  auto it = txs_.find(id);
  if (it == txs_.end())
    return;
  auto& r = it->second;
  s.put(txs_table(), {cell_digest(id), cell_u64(r.from), cell_u64(r.to), cell_u64(r.amount),
                      cell_u64(r.fee), cell_u64(r.nonce), std::string(status_name(r.status)),
                      cell_u64(r.height), cell_u64(r.seq)});
}

void chain::load(const table_store& s) {
  auto meta = s.get(meta_table(), {std::string("state")});
  if (!meta || meta->u64(4) != cfg_.supply)
    return; // a fresh ledger, or rows from another configuration: start afresh rather than mix
  height_ = meta->u64(1);
  next_seq_ = meta->u64(2);
  fund_nonce_ = meta->u64(3);
  accounts_.clear();
  txs_.clear();
  nonce_holder_.clear();
  mempool_.clear();
  s.scan(accounts_table(), {}, [&](const row& r) { accounts_[r.u64(0)].balance = r.u64(1); });
  s.scan(txs_table(), {}, [&](const row& row) {
    auto status = status_from_name(row.text(6));
    if (!status)
      return;
    tx_record r{row.u64(1), row.u64(2), row.u64(3), row.u64(4),
                row.u64(5), *status,    row.u64(7), row.u64(8)};
    auto id = row.hash(0);
    txs_[id] = r;
    if (r.status == tx_status::pending) {
      mempool_[r.seq] = id;
      accounts_[r.from].pending_out += r.amount + r.fee;
    }
    if (r.status != tx_status::replaced)
      nonce_holder_[{r.from, r.nonce}] = id;
  });
}

} // namespace peerlab::ledger
