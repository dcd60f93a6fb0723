#pragma once
// Typed tables: the rows a role keeps across crashes. Each role declares its
// tables (name, typed columns, primary key, schema version, row bound); a live
// node keeps each one as a real SQLite table (net/sqlite_store), the simulator
// keeps the same tables in memory (protocols/common/memory_store.hpp), and
// roles use one API for both. docs/tables.md lists every table.
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace peerlab {

enum class column_type : std::uint8_t { integer, real, text, blob };
/// SQL name of a type ("INTEGER", "REAL", "TEXT", "BLOB").
const char* sql_type(column_type);

struct column {
  std::string name;
  column_type type = column_type::integer;
  /// blob: the only accepted length (32 for a SHA-256 digest); 0 = any length.
  std::size_t exact_size = 0;
};

/// One value. Integers are signed 64-bit like SQLite's; unsigned 64-bit values
/// (peer ids, amounts) are stored bit for bit (use cell_u64 / row::u64).
using cell = std::variant<std::int64_t, double, std::string, bytes>;
/// The primary-key columns of a row, in order (or a prefix of them for scans).
using key = std::vector<cell>;

inline cell cell_u64(std::uint64_t v) { return static_cast<std::int64_t>(v); }
inline cell cell_digest(const digest& d) { return bytes(d.begin(), d.end()); }

class row {
public:
  row() = default;
  row(std::initializer_list<cell> c) : cells(c) {}
  explicit row(std::vector<cell> c) : cells(std::move(c)) {}

  // Accessors assume the row matches its schema (the stores check every row
  // they hand out); a wrong type throws std::bad_variant_access.
  std::int64_t integer(std::size_t i) const { return std::get<std::int64_t>(cells.at(i)); }
  std::uint64_t u64(std::size_t i) const { return static_cast<std::uint64_t>(integer(i)); }
  double real(std::size_t i) const { return std::get<double>(cells.at(i)); }
  const std::string& text(std::size_t i) const { return std::get<std::string>(cells.at(i)); }
  const bytes& blob(std::size_t i) const { return std::get<bytes>(cells.at(i)); }
  /// A blob column declared with exact_size 32.
  digest hash(std::size_t i) const;

  bool operator==(const row&) const = default;

  std::vector<cell> cells;
};

/// Bad rows or conflicting schemas; the message names the table (and key).
struct table_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct table_schema {
  std::string name; // SQL table name, CamelCase
  std::vector<column> columns;
  std::size_t key_columns = 1; // the primary key is the first key_columns columns
  std::uint32_t version = 1;
  std::size_t max_rows = 1u << 20; // puts of new keys past this are refused
  /// Rows of the generic rows(tbl, key, value) table of older node files:
  /// which `tbl` held this table's rows, and how one (key, value) becomes a
  /// row (nullopt: unreadable, the old row is kept and reported).
  std::string legacy_table{};
  std::function<std::optional<row>(std::string_view key, std::string_view value)> from_legacy{};

  std::size_t column_index(std::string_view name) const; // throws table_error if absent
};

/// Empty if `r` fits the schema, else what is wrong (naming table and column).
std::string check_row(const table_schema&, const row&);
/// Empty if `k` is a valid key prefix of the schema (at most key_columns cells).
std::string check_key(const table_schema&, const key&);
/// Empty if `k` is a whole key of the schema (get and erase need one).
std::string check_full_key(const table_schema&, const key&);
/// The key of a row.
key key_of(const table_schema&, const row&);
/// Human-readable key for messages: numbers, quoted text, hex blobs.
std::string describe(const key&);
/// Total order of cells of one type (the order SQLite sorts them in).
int compare(const cell&, const cell&);
/// Compares keys column by column; a prefix compares equal to any key it starts.
int compare_prefix(const key& prefix, const key& k);

struct key_less {
  bool operator()(const key& a, const key& b) const;
};

/// Tables of one node. Both stores check every row against its schema.
class table_store {
public:
  virtual ~table_store() = default;
  /// Makes a table ready: creates it, migrates older rows. Idempotent. Throws
  /// table_error if what is stored conflicts with the schema.
  virtual void declare(const table_schema&) = 0;
  /// Inserts or replaces the row with the same key (declaring the table on
  /// first use). Returns false, storing nothing, if the key is new and the
  /// table holds max_rows rows. Throws table_error if the row does not fit.
  virtual bool put(const table_schema&, const row&) = 0;
  virtual std::optional<row> get(const table_schema&, const key&) const = 0;
  virtual void erase(const table_schema&, const key&) = 0;
  /// Visits rows whose key starts with `prefix` (empty: all), in key order.
  /// The callback may write to the store.
  virtual void scan(const table_schema&, const key& prefix,
                    const std::function<void(const row&)>&) const = 0;
  virtual std::size_t count(const table_schema&) const = 0;
  /// Rows the table may hold (its max_rows unless the store bounds it lower).
  virtual std::size_t capacity(const table_schema& s) const { return s.max_rows; }
  /// The writes a thread makes between begin_atomic() and end_atomic() land
  /// together: a process killed in between keeps all of them or none (a live
  /// node's SQLite transaction). The role shell brackets every handler, so a
  /// role that rewrites several rows never leaves half of them after kill -9.
  /// The simulator crashes nodes only between events: nothing to do there.
  /// Groups nest; the outermost end_atomic decides (commit false: roll back).
  virtual void begin_atomic() {}
  virtual void end_atomic(bool commit) { (void)commit; }
};

/// One atomic group of writes for a scope (table_store::begin_atomic); rolled
/// back if the scope is left by an exception.
class atomic_rows {
public:
  explicit atomic_rows(table_store& s) : store_(s), exceptions_(std::uncaught_exceptions()) {
    store_.begin_atomic();
  }
  ~atomic_rows() { store_.end_atomic(std::uncaught_exceptions() == exceptions_); }
  atomic_rows(const atomic_rows&) = delete;
  atomic_rows& operator=(const atomic_rows&) = delete;

private:
  table_store& store_;
  int exceptions_;
};

} // namespace peerlab
