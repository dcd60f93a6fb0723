#include "protocols/filexfer/tables.hpp"

#include "protocols/common/limits.hpp"

#include <charconv>
#include <map>

namespace peerlab::filexfer {

namespace {

column integer(const char* n) { return {n, column_type::integer}; }

std::optional<std::int64_t> number(std::string_view s, bool is_signed) {
  if (is_signed) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size() ? std::optional(v) : std::nullopt;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() ? std::optional(static_cast<std::int64_t>(v))
                                                       : std::nullopt;
}

} // namespace

const table_schema& download_files_table() {
  static const table_schema s = [] {
    table_schema t{"DownloadFiles",
                   {{"hash", column_type::blob, 32},
                    {"name", column_type::text},
                    integer("size"),
                    integer("price"),
                    integer("provider"),
                    {"payment_ref", column_type::blob},
                    integer("finished_at"),
                    integer("duration_us")},
                   1,
                   1,
                   1u << 20};
    // Older node files: key = hex hash, value = "k=v;k=v" with these names.
    t.legacy_table = "DownloadFiles";
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      auto h = digest_from_hex(k);
      if (!h)
        return std::nullopt;
      std::map<std::string, std::string, std::less<>> f;
      while (!v.empty()) {
        auto end = v.find(';');
        auto item = v.substr(0, end);
        if (auto eq = item.find('='); eq != std::string_view::npos)
          f[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
        if (end == std::string_view::npos)
          break;
        v.remove_prefix(end + 1);
      }
      auto num = [&](const char* name, bool is_signed) {
        auto it = f.find(name);
        return it == f.end() ? 0 : number(it->second, is_signed).value_or(0);
      };
      auto ref = bytes_from_hex(f["payment_ref"]).value_or(bytes{});
      return row{
        cell_digest(*h),        f["name"],      num("size", false),       num("price", false),
        num("provider", false), std::move(ref), num("finished_at", true), num("duration_us", true)};
    };
    return t;
  }();
  return s;
}

const table_schema& partial_downloads_table() {
  static const table_schema s{"PartialDownloads",
                              {{"hash", column_type::blob, 32},
                               integer("download"),
                               {"providers", column_type::blob},
                               integer("provider_index"),
                               integer("max_price"),
                               {"name", column_type::text},
                               integer("size"),
                               integer("price"),
                               integer("verified"),
                               {"verified_sha256", column_type::blob}},
                              1,
                              1,
                              limits::active_downloads_max};
  return s;
}

} // namespace peerlab::filexfer
