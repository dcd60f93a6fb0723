#pragma once
// Tables of the paid file market; docs/tables.md lists their columns.
//   Payments         (direction, ref)  in: a bill (gate, then verifier);
//                                      out: a payment made (payer)
//   PaymentsInbox    (ref)             new bills the verifier has not seen
//   PaymentsOpen     (ref)             bills not settled (reloaded on restart)
//   UsedTx           (tx)              the reference a transaction paid
//   Blacklist        (peer)            peers refused, with the reason
//   CreditPurchases  (peer, hash)      a peer's open purchases (gate)
//   CreditBills      (peer, hash, pos) their outstanding bills, in order
//   ProvidedFiles    (hash)            files sold: name, size, price, sales
//   DownloadFiles    (hash)            download history (downloader)
//   ProvidedPaths    (hash)            files served by path, with the stamp they
//                                      were hashed with (account)
//
// The roles read and write Payments, ProvidedFiles and DownloadFiles rows as
// `fields` (column name -> text), so a role sets only what it knows; columns it
// leaves out are 0 or empty.
#include "protocols/common/store.hpp"
#include "protocols/filexfer/codec.hpp"

#include <map>
#include <optional>
#include <string>

namespace peerlab::market {

namespace tables {
const table_schema& payments();
const table_schema& inbox();
const table_schema& open();
const table_schema& used_tx();
const table_schema& blacklist();
const table_schema& credit();
const table_schema& credit_bills();
const table_schema& provided_files();
const table_schema& download_files();
/// ProvidedPaths(hash BLOB[32], path TEXT, name TEXT, price, size, mtime_ns).
const table_schema& provided_paths();
/// Every table above.
std::vector<const table_schema*> all();
} // namespace tables

/// A row as column name -> text (numbers in decimal, blobs in hex).
class row {
public:
  row() = default;
  /// The typed row of `schema` as fields.
  static row of(const table_schema& schema, const peerlab::row& typed);
  /// The typed row: key columns from `k`, the others from the fields (missing: 0 or empty).
  peerlab::row typed(const table_schema& schema, const key& k) const;

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

std::optional<row> load(const table_store&, const table_schema&, const key&);
void save(table_store&, const table_schema&, const key&, const row&);

/// Keys of the tables above.
key peer_key(peer_id p);
key ref_key(const filexfer::payment_ref& r);
key payment_key(const char* direction, const filexfer::payment_ref& r);
/// The same with the reference in hex (as events carry it).
key payment_key(const char* direction, std::string_view ref_hex);
/// The 16-byte reference in a key or row cell.
std::optional<filexfer::payment_ref> ref_of(const cell& c);
/// Makes free text safe for a row and short.
std::string clean(std::string_view text);

} // namespace peerlab::market
