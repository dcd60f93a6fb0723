#include "protocols/ledger/tables.hpp"

#include "protocols/ledger/ledger.hpp"

#include <charconv>

namespace peerlab::ledger {

namespace {

// Space-separated unsigned integers: the values of older node files.
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

column integer(const char* name) { return {name, column_type::integer}; }

} // namespace

const table_schema& meta_table() {
  static const table_schema s = [] {
    table_schema t{"LedgerMeta",
                   {{"name", column_type::text},
                    integer("height"),
                    integer("next_seq"),
                    integer("fund_nonce"),
                    integer("supply")},
                   1,
                   1,
                   1};
    t.legacy_table = "LedgerMeta"; // value: "height next_seq fund_nonce supply"
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      auto n = numbers(v);
      if (k != "state" || n.size() != 4)
        return std::nullopt;
      return row{std::string(k), cell_u64(n[0]), cell_u64(n[1]), cell_u64(n[2]), cell_u64(n[3])};
    };
    return t;
  }();
  return s;
}

const table_schema& accounts_table() {
  static const table_schema s = [] {
    table_schema t{
      "LedgerAccounts", {integer("account"), integer("balance")}, 1, 1, bounds::accounts_max};
    t.legacy_table = "LedgerAccounts"; // key: 16 hex digits, value: the balance
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      std::uint64_t a = 0;
      auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), a, 16);
      auto n = numbers(v);
      if (ec != std::errc{} || p != k.data() + k.size() || n.size() != 1)
        return std::nullopt;
      return row{cell_u64(a), cell_u64(n[0])};
    };
    return t;
  }();
  return s;
}

std::optional<tx_status> status_from_name(std::string_view name) {
  for (auto s : {tx_status::unknown, tx_status::pending, tx_status::in_block, tx_status::confirmed,
                 tx_status::replaced})
    if (name == status_name(s))
      return s;
  return std::nullopt;
}

const table_schema& txs_table() {
  static const table_schema s = [] {
    table_schema t{"LedgerTxs",
                   {{"id", column_type::blob, 32},
                    integer("from_account"),
                    integer("to_account"),
                    integer("amount"),
                    integer("fee"),
                    integer("nonce"),
                    {"status", column_type::text},
                    integer("height"),
                    integer("seq")},
                   1,
                   1,
                   bounds::txs_max};
    // value: "from to amount fee nonce status height seq", status as a number.
    t.legacy_table = "LedgerTxs";
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      auto id = digest_from_hex(k);
      auto n = numbers(v);
      if (!id || n.size() != 8 || n[5] > static_cast<std::uint64_t>(tx_status::replaced))
        return std::nullopt;
      return row{cell_digest(*id),
                 cell_u64(n[0]),
                 cell_u64(n[1]),
                 cell_u64(n[2]),
                 cell_u64(n[3]),
                 cell_u64(n[4]),
                 std::string(status_name(static_cast<tx_status>(n[5]))),
                 cell_u64(n[6]),
                 cell_u64(n[7])};
    };
    return t;
  }();
  return s;
}

} // namespace peerlab::ledger
