#pragma once
// Rows of the paid file market in the node's kv_store (a live node's SQLite
// file; the simulator's per-node memory, which survives crashes). Table names
// follow the seed's "Data Storage": ProvidedFiles, DownloadFiles, Payments,
// plus the bookkeeping the roles share:
//
// | table          | key            | written by          | what |
// |----------------|----------------|---------------------|----------------------------------------|
// | Payments       | in:<ref>       | gate, then verifier | a bill: expected payment (provider) |
// | Payments       | out:<ref>      | payer               | a payment made (downloader) | |
// PaymentsInbox  | <ref>          | gate (verifier erases) | new bills the verifier has not seen |
// | PaymentsOpen   | <ref>          | verifier            | bills not settled (rebuilt on restart)
// | | UsedTx         | <tx id>        | verifier            | the reference a transaction paid | |
// Blacklist      | <peer>         | verifier            | peers refused, with the reason         |
// | Credit         | <peer>         | gate                | a peer's open purchases (who owes
// what)| | ProvidedFiles  | <hash>         | gate                | files sold: name, size, price,
// sales   | | DownloadFiles  | <hash>         | downloader          | download history |
//
// A row is text "k=v;k=v" (values never hold ';' or '='; free text is cleaned).
#include "protocols/common/store.hpp"

#include <map>
#include <optional>
#include <string>

namespace peerlab::market {

namespace tables {
constexpr const char* payments = "Payments";
constexpr const char* inbox = "PaymentsInbox";
constexpr const char* open = "PaymentsOpen";
constexpr const char* used_tx = "UsedTx";
constexpr const char* blacklist = "Blacklist";
constexpr const char* credit = "Credit";
constexpr const char* provided_files = "ProvidedFiles";
constexpr const char* download_files = "DownloadFiles";
} // namespace tables

class row {
public:
  row() = default;
  static row parse(std::string_view text);
  std::string text() const;

  void set(const std::string& k, std::string v);
  void set(const std::string& k, std::uint64_t v) { set(k, std::to_string(v)); }
  void set_i(const std::string& k, std::int64_t v) { set(k, std::to_string(v)); }
  std::string str(const std::string& k) const;
  std::uint64_t u64(const std::string& k) const; // 0 if missing or malformed
  std::int64_t i64(const std::string& k) const;
  bool has(const std::string& k) const { return fields_.count(k) != 0; }

private:
  std::map<std::string, std::string> fields_;
};

std::optional<row> load(const kv_store&, const char* table, std::string_view key);
void save(kv_store&, const char* table, std::string_view key, const row&);

/// Fixed-width hex of a peer id (keys sort like the numbers).
std::string peer_key(peer_id p);
/// Makes free text safe for a row and short.
std::string clean(std::string_view text);

} // namespace peerlab::market
