#include "protocols/market/tables.hpp"

#include "protocols/market/market.hpp"
#include "protocols/filexfer/tables.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>

namespace peerlab::market {

namespace {

column integer(const char* n) { return {n, column_type::integer}; }
column text(const char* n) { return {n, column_type::text}; }
column blob(const char* n, std::size_t size = 0) { return {n, column_type::blob, size}; }

// Times are signed; every other integer (ids, amounts, counts) is unsigned.
bool is_signed(const std::string& name) { return name.ends_with("_at") || name == "deadline"; }

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

// Older node files kept "k=v;k=v" text in rows(tbl, key, value).
std::map<std::string, std::string> parse_fields(std::string_view t) {
  std::map<std::string, std::string> out;
  while (!t.empty()) {
    auto end = t.find(';');
    auto item = t.substr(0, end);
    auto eq = item.find('=');
    if (eq != std::string_view::npos)
      out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    if (end == std::string_view::npos)
      break;
    t.remove_prefix(end + 1);
  }
  return out;
}

std::optional<std::uint64_t> peer_of_hex(std::string_view k) {
  std::uint64_t p = 0;
  auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), p, 16);
  if (k.size() != 16 || ec != std::errc{} || end != k.data() + k.size())
    return std::nullopt;
  return p;
}

std::optional<cell> blob_of_hex(std::string_view h, std::size_t size) {
  auto b = bytes_from_hex(h);
  if (!b || b->size() != size)
    return std::nullopt;
  return cell(std::move(*b));
}

// A table whose old rows were "k=v;k=v" fields under a key that `old_key`
// turns into the typed key.
table_schema with_fields(table_schema t, const char* legacy,
                         std::function<std::optional<key>(std::string_view)> old_key) {
  t.legacy_table = legacy;
  t.from_legacy = [t_copy = t, old_key](std::string_view k,
                                        std::string_view v) -> std::optional<peerlab::row> {
    auto k2 = old_key(k);
    if (!k2)
      return std::nullopt;
    row r;
    for (auto& [name, value] : parse_fields(v))
      r.set(name, value);
    return r.typed(t_copy, *k2);
  };
  return t;
}

// Older node files kept ProvidedPaths as JSON {path, name, price, size, mtime_ns}.
std::optional<peerlab::row> provided_path_from_json(std::string_view k, std::string_view v) {
  using nlohmann::json;
  auto hash = digest_from_hex(k);
  auto j = json::parse(v, nullptr, false);
  if (!hash || !j.is_object() || !j.contains("path") || !j["path"].is_string() ||
      !j.contains("size") || !j["size"].is_number_unsigned() || !j.contains("mtime_ns") ||
      !j["mtime_ns"].is_number_integer())
    return std::nullopt;
  return peerlab::row{cell_digest(*hash),
                      j["path"].get<std::string>(),
                      j.value("name", std::string()),
                      cell_u64(j.value("price", std::uint64_t{0})),
                      cell_u64(j["size"].get<std::uint64_t>()),
                      j["mtime_ns"].get<std::int64_t>()};
}

std::optional<key> hash_key(std::string_view k) {
  auto h = blob_of_hex(k, 32);
  if (!h)
    return std::nullopt;
  return key{*h};
}

std::optional<key> ref_only_key(std::string_view k) {
  auto r = blob_of_hex(k, 16);
  if (!r)
    return std::nullopt;
  return key{*r};
}

} // namespace

namespace tables {

const table_schema& payments() {
  static const table_schema s =
    with_fields({"Payments",
                 {text("direction"),
                  blob("ref", 16),
                  text("cat"),
                  text("status"),
                  integer("peer"),
                  integer("provider"),
                  blob("hash"),
                  integer("amount"),
                  integer("from"),
                  integer("to"),
                  integer("paying"),
                  integer("nonce"),
                  blob("tx"),
                  text("policy"),
                  text("strategy"),
                  text("reason"),
                  integer("late"),
                  integer("requested_at"),
                  integer("deadline"),
                  integer("notified_at"),
                  integer("settled_at"),
                  integer("created_at"),
                  integer("late_at")},
                 2,
                 1,
                 bounds::open_payments_max * 16},
                "Payments", [](std::string_view k) -> std::optional<key> {
                  auto colon = k.find(':');
                  if (colon == std::string_view::npos)
                    return std::nullopt;
                  auto dir = k.substr(0, colon);
                  auto r = blob_of_hex(k.substr(colon + 1), 16);
                  if ((dir != "in" && dir != "out") || !r)
                    return std::nullopt;
                  return key{std::string(dir), *r};
                });
  return s;
}

const table_schema& inbox() {
  static const table_schema s = [] {
    table_schema t{"PaymentsInbox", {blob("ref", 16)}, 1, 1, bounds::open_payments_max};
    t.legacy_table = "PaymentsInbox";
    t.from_legacy = [](std::string_view k, std::string_view) -> std::optional<peerlab::row> {
      auto r = ref_only_key(k);
      return r ? std::optional<peerlab::row>(peerlab::row(*r)) : std::nullopt;
    };
    return t;
  }();
  return s;
}

const table_schema& open() {
  static const table_schema s = [] {
    table_schema t{"PaymentsOpen", {blob("ref", 16)}, 1, 1, bounds::open_payments_max};
    t.legacy_table = "PaymentsOpen";
    t.from_legacy = [](std::string_view k, std::string_view) -> std::optional<peerlab::row> {
      auto r = ref_only_key(k);
      return r ? std::optional<peerlab::row>(peerlab::row(*r)) : std::nullopt;
    };
    return t;
  }();
  return s;
}

const table_schema& used_tx() {
  static const table_schema s = [] {
    table_schema t{
      "UsedTx", {blob("tx", 32), blob("ref", 16)}, 1, 1, bounds::open_payments_max * 16};
    t.legacy_table = "UsedTx"; // key: tx hex, value: ref hex
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<peerlab::row> {
      auto tx = blob_of_hex(k, 32);
      auto r = blob_of_hex(v, 16);
      if (!tx || !r)
        return std::nullopt;
      return peerlab::row{*tx, *r};
    };
    return t;
  }();
  return s;
}

const table_schema& blacklist() {
  static const table_schema s = [] {
    table_schema t{"Blacklist", {integer("peer"), text("reason")}, 1, 1, 1u << 20};
    t.legacy_table = "Blacklist"; // key: peer as 16 hex digits, value: the reason
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<peerlab::row> {
      auto p = peer_of_hex(k);
      if (!p)
        return std::nullopt;
      return peerlab::row{cell_u64(*p), clean(v)};
    };
    return t;
  }();
  return s;
}

// The old Credit row packed every open purchase of a peer into one string;
// it is not converted (open purchases restart from nothing, like a gate
// that never met the peer).
const table_schema& credit() {
  static const table_schema s{"CreditPurchases",
                              {integer("peer"), blob("hash", 32), blob("ref", 16), integer("size"),
                               integer("price"), integer("billable"), integer("billed"),
                               integer("paid"), integer("last_sent"), integer("bills_made")},
                              2,
                              1,
                              1u << 22};
  return s;
}

const table_schema& credit_bills() {
  static const table_schema s{
    "CreditBills",
    {integer("peer"), blob("hash", 32), integer("position"), blob("ref", 16), integer("bytes")},
    3,
    1,
    1u << 22};
  return s;
}

const table_schema& provided_files() {
  static const table_schema s =
    with_fields({"ProvidedFiles",
                 {blob("hash", 32), text("name"), integer("size"), integer("price"),
                  integer("sales"), integer("paid_sales")},
                 1,
                 1,
                 1u << 20},
                "ProvidedFiles", hash_key);
  return s;
}

const table_schema& download_files() { return filexfer::download_files_table(); }

const table_schema& provided_paths() {
  static const table_schema s = [] {
    table_schema t{"ProvidedPaths",
                   {blob("hash", 32), text("path"), text("name"), integer("price"), integer("size"),
                    integer("mtime_ns")},
                   1,
                   1,
                   1u << 20};
    t.legacy_table = "ProvidedPaths";
    t.from_legacy = provided_path_from_json;
    return t;
  }();
  return s;
}

std::vector<const table_schema*> all() {
  return {&payments(), &inbox(),        &open(),           &used_tx(),        &blacklist(),
          &credit(),   &credit_bills(), &provided_files(), &download_files(), &provided_paths()};
}

} // namespace tables

row row::of(const table_schema& schema, const peerlab::row& typed) {
  row r;
  for (std::size_t i = 0; i < schema.columns.size() && i < typed.cells.size(); ++i) {
    auto& c = schema.columns[i];
    auto& v = typed.cells[i];
    if (auto* n = std::get_if<std::int64_t>(&v))
      r.fields_[c.name] =
        is_signed(c.name) ? std::to_string(*n) : std::to_string(static_cast<std::uint64_t>(*n));
    else if (auto* t = std::get_if<std::string>(&v))
      r.fields_[c.name] = *t;
    else if (auto* b = std::get_if<bytes>(&v))
      r.fields_[c.name] = to_hex(byte_view{b->data(), b->size()});
    else
      r.fields_[c.name] = std::to_string(std::get<double>(v));
  }
  return r;
}

peerlab::row row::typed(const table_schema& schema, const key& k) const {
  peerlab::row out;
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    if (i < schema.key_columns && i < k.size()) {
      out.cells.push_back(k[i]);
      continue;
    }
    auto& c = schema.columns[i];
    auto v = str(c.name);
    switch (c.type) {
    case column_type::integer:
      out.cells.push_back(is_signed(c.name) ? number<std::int64_t>(v).value_or(0)
                                            : cell_u64(number<std::uint64_t>(v).value_or(0)));
      break;
    case column_type::real:
      out.cells.push_back(0.0);
      break;
    case column_type::text:
      out.cells.push_back(v);
      break;
    case column_type::blob: {
      auto b = bytes_from_hex(v).value_or(bytes{});
      if (c.exact_size && b.size() != c.exact_size)
        b.assign(c.exact_size, 0);
      out.cells.push_back(std::move(b));
    }
    }
  }
  return out;
}

void row::set(const std::string& k, std::string v) { fields_[k] = clean(v); }

std::string row::str(const std::string& k) const {
  auto it = fields_.find(k);
  return it == fields_.end() ? std::string() : it->second;
}

std::uint64_t row::u64(const std::string& k) const {
  return number<std::uint64_t>(str(k)).value_or(0);
}

std::int64_t row::i64(const std::string& k) const {
  return number<std::int64_t>(str(k)).value_or(0);
}

std::optional<row> load(const table_store& s, const table_schema& t, const key& k) {
  auto r = s.get(t, k);
  if (!r)
    return std::nullopt;
  return row::of(t, *r);
}

void save(table_store& s, const table_schema& t, const key& k, const row& r) {
  s.put(t, r.typed(t, k));
}

key peer_key(peer_id p) { return key{cell_u64(p)}; }

key ref_key(const filexfer::payment_ref& r) { return key{bytes(r.begin(), r.end())}; }

key payment_key(const char* direction, const filexfer::payment_ref& r) {
  return key{std::string(direction), bytes(r.begin(), r.end())};
}

key payment_key(const char* direction, std::string_view ref_hex) {
  return key{std::string(direction), bytes_from_hex(ref_hex).value_or(bytes{})};
}

std::optional<filexfer::payment_ref> ref_of(const cell& c) {
  auto* b = std::get_if<bytes>(&c);
  if (!b || b->size() != 16)
    return std::nullopt;
  filexfer::payment_ref r{};
  std::copy(b->begin(), b->end(), r.begin());
  return r;
}

std::string clean(std::string_view text) {
  std::string out(text.substr(0, bounds::reason_max));
  for (auto& c : out)
    if (c == ';' || c == '=' || static_cast<unsigned char>(c) < 0x20)
      c = ',';
  return out;
}

} // namespace peerlab::market
