#include "protocols/fileset/tables.hpp"

#include "protocols/common/wire.hpp"
#include "protocols/fileset/codec.hpp"

namespace peerlab::fileset {

namespace {

// Keys of older node files: "<set id>/<index as 10 digits>".
std::optional<std::pair<std::string, std::int64_t>> split_key(std::string_view key) {
  auto slash = key.rfind('/');
  if (slash == std::string_view::npos || key.size() - slash != 11)
    return std::nullopt;
  std::int64_t index = 0;
  for (char c : key.substr(slash + 1)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    index = index * 10 + (c - '0');
  }
  return std::pair{std::string(key.substr(0, slash)), index};
}

bytes bytes_of(std::string_view v) { return bytes(v.begin(), v.end()); }

constexpr std::size_t max_stored_files = std::size_t{limits::sets_max} * limits::set_files_max;

} // namespace

const table_schema& sets_table() {
  static const table_schema s = [] {
    table_schema t{"FileSets",
                   {{"set_id", column_type::text},
                    {"file_count", column_type::integer},
                    {"complete", column_type::integer},
                    {"root", column_type::blob}},
                   1,
                   1,
                   limits::sets_max};
    // value: u32 count, u8 complete, then the 32-byte root if complete.
    t.legacy_table = "fileset.sets";
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      wire::reader r(byte_view{reinterpret_cast<const std::uint8_t*>(v.data()), v.size()});
      std::uint32_t count = 0;
      std::uint8_t complete = 0;
      digest root{};
      if (!r.u32(count) || !r.u8(complete) || (complete && !r.fixed(root)))
        return std::nullopt;
      return row{std::string(k), std::int64_t{count}, std::int64_t{complete ? 1 : 0},
                 complete ? cell_digest(root) : cell(bytes{})};
    };
    return t;
  }();
  return s;
}

const table_schema& files_table() {
  static const table_schema s = [] {
    table_schema t{"FileSetFiles",
                   {{"set_id", column_type::text},
                    {"file_index", column_type::integer},
                    {"content", column_type::blob}},
                   2,
                   1,
                   max_stored_files};
    t.legacy_table = "fileset.files";
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      auto key = split_key(k);
      if (!key)
        return std::nullopt;
      return row{key->first, key->second, bytes_of(v)};
    };
    return t;
  }();
  return s;
}

const table_schema& leaves_table() {
  static const table_schema s = [] {
    table_schema t{"FileSetLeaves",
                   {{"set_id", column_type::text},
                    {"file_index", column_type::integer},
                    {"leaf", column_type::blob, 32}},
                   2,
                   1,
                   max_stored_files};
    t.legacy_table = "fileset.leaves";
    t.from_legacy = [](std::string_view k, std::string_view v) -> std::optional<row> {
      auto key = split_key(k);
      if (!key || v.size() != 32)
        return std::nullopt;
      return row{key->first, key->second, bytes_of(v)};
    };
    return t;
  }();
  return s;
}

} // namespace peerlab::fileset
