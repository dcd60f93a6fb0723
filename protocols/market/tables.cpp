#include "protocols/market/tables.hpp"

#include "protocols/market/market.hpp"

#include <charconv>
#include <cstdio>

namespace peerlab::market {

row row::parse(std::string_view t) {
  row r;
  while (!t.empty()) {
    auto end = t.find(';');
    auto item = t.substr(0, end);
    auto eq = item.find('=');
    if (eq != std::string_view::npos)
      r.fields_[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    if (end == std::string_view::npos)
      break;
    t.remove_prefix(end + 1);
  }
  return r;
}

std::string row::text() const {
  std::string out;
  for (auto& [k, v] : fields_) {
    if (!out.empty())
      out += ';';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

void row::set(const std::string& k, std::string v) { fields_[k] = clean(v); }

std::string row::str(const std::string& k) const {
  auto it = fields_.find(k);
  return it == fields_.end() ? std::string() : it->second;
}

std::uint64_t row::u64(const std::string& k) const {
  auto it = fields_.find(k);
  if (it == fields_.end())
    return 0;
  std::uint64_t v = 0;
  auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() ? v : 0;
}

std::int64_t row::i64(const std::string& k) const {
  auto it = fields_.find(k);
  if (it == fields_.end())
    return 0;
  std::int64_t v = 0;
  auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() ? v : 0;
}

std::optional<row> load(const kv_store& s, const char* table, std::string_view key) {
  auto v = s.get(table, key);
  if (!v)
    return std::nullopt;
  return row::parse(*v);
}

void save(kv_store& s, const char* table, std::string_view key, const row& r) {
  s.put(table, key, r.text());
}

std::string peer_key(peer_id p) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(p));
  return buf;
}

std::string clean(std::string_view text) {
  std::string out(text.substr(0, bounds::max_reason));
  for (auto& c : out)
    if (c == ';' || c == '=' || static_cast<unsigned char>(c) < 0x20)
      c = ',';
  return out;
}

} // namespace peerlab::market
