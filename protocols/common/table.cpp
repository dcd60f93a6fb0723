#include "protocols/common/table.hpp"

#include <algorithm>
#include <cstring>

namespace peerlab {

namespace {

column_type type_of(const cell& c) {
  switch (c.index()) {
  case 0:
    return column_type::integer;
  case 1:
    return column_type::real;
  case 2:
    return column_type::text;
  default:
    return column_type::blob;
  }
}

std::string check_cell(const table_schema& s, const column& col, const cell& c) {
  if (type_of(c) != col.type)
    return "table " + s.name + ": column " + col.name + " wants " + sql_type(col.type) + ", got " +
           sql_type(type_of(c));
  if (col.type == column_type::blob && col.exact_size &&
      std::get<bytes>(c).size() != col.exact_size)
    return "table " + s.name + ": column " + col.name + " wants " + std::to_string(col.exact_size) +
           " bytes, got " + std::to_string(std::get<bytes>(c).size());
  return {};
}

} // namespace

const char* sql_type(column_type t) {
  switch (t) {
  case column_type::integer:
    return "INTEGER";
  case column_type::real:
    return "REAL";
  case column_type::text:
    return "TEXT";
  case column_type::blob:
    return "BLOB";
  }
  return "?";
}

digest row::hash(std::size_t i) const {
  auto& b = blob(i);
  digest d{};
  if (b.size() != d.size())
    throw table_error("column " + std::to_string(i) + " holds " + std::to_string(b.size()) +
                      " bytes, not a 32-byte digest");
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}

std::size_t table_schema::column_index(std::string_view n) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == n)
      return i;
  throw table_error("table " + name + " has no column " + std::string(n));
}

std::string check_row(const table_schema& s, const row& r) {
  if (r.cells.size() != s.columns.size())
    return "table " + s.name + ": row has " + std::to_string(r.cells.size()) + " values, wants " +
           std::to_string(s.columns.size());
  for (std::size_t i = 0; i < r.cells.size(); ++i)
    if (auto e = check_cell(s, s.columns[i], r.cells[i]); !e.empty())
      return e;
  return {};
}

std::string check_key(const table_schema& s, const key& k) {
  if (k.size() > s.key_columns)
    return "table " + s.name + ": key has " + std::to_string(k.size()) + " values, wants at most " +
           std::to_string(s.key_columns);
  for (std::size_t i = 0; i < k.size(); ++i)
    if (auto e = check_cell(s, s.columns[i], k[i]); !e.empty())
      return e;
  return {};
}

std::string check_full_key(const table_schema& s, const key& k) {
  if (k.size() != s.key_columns)
    return "table " + s.name + ": key has " + std::to_string(k.size()) + " values, wants " +
           std::to_string(s.key_columns);
  return check_key(s, k);
}

key key_of(const table_schema& s, const row& r) {
  return key(r.cells.begin(), r.cells.begin() + static_cast<std::ptrdiff_t>(s.key_columns));
}

std::string describe(const key& k) {
  std::string out = "(";
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (i)
      out += ", ";
    auto& c = k[i];
    if (auto* v = std::get_if<std::int64_t>(&c))
      out += std::to_string(*v);
    else if (auto* d = std::get_if<double>(&c))
      out += std::to_string(*d);
    else if (auto* t = std::get_if<std::string>(&c))
      out += "'" + t->substr(0, 80) + "'";
    else {
      auto& b = std::get<bytes>(c);
      out += "x'" + to_hex(byte_view{b.data(), std::min<std::size_t>(b.size(), 40)}) + "'";
    }
  }
  return out + ")";
}

int compare(const cell& a, const cell& b) {
  if (a.index() != b.index())
    return a.index() < b.index() ? -1 : 1; // SQLite: numbers < text < blobs
  auto three = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (a.index()) {
  case 0:
    return three(std::get<0>(a), std::get<0>(b));
  case 1:
    return three(std::get<1>(a), std::get<1>(b));
  case 2: {
    // memcmp order, as SQLite's BINARY collation
    auto& x = std::get<2>(a);
    auto& y = std::get<2>(b);
    auto n = std::min(x.size(), y.size());
    int c = n ? std::memcmp(x.data(), y.data(), n) : 0;
    return c != 0 ? (c < 0 ? -1 : 1) : three(x.size(), y.size());
  }
  default:
    return three(std::get<3>(a), std::get<3>(b));
  }
}

int compare_prefix(const key& prefix, const key& k) {
  for (std::size_t i = 0; i < prefix.size() && i < k.size(); ++i)
    if (int c = compare(prefix[i], k[i]))
      return c;
  return 0;
}

bool key_less::operator()(const key& a, const key& b) const {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (int c = compare(a[i], b[i]))
      return c < 0;
  return a.size() < b.size();
}

} // namespace peerlab
