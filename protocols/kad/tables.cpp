#include "protocols/kad/tables.hpp"

#include "protocols/kad/kad.hpp"

namespace peerlab::kad {

const table_schema& provided_keys_table() {
  static const table_schema s = [] {
    table_schema t{
      "DhtProvidedKeys", {{"key", column_type::blob, 32}}, 1, 1, limits::provided_keys_max};
    // Older node files: rows("kad_provided", <hex key>, "1").
    t.legacy_table = "kad_provided";
    t.from_legacy = [](std::string_view k, std::string_view) -> std::optional<row> {
      auto d = digest_from_hex(k);
      if (!d)
        return std::nullopt;
      return row{cell_digest(*d)};
    };
    return t;
  }();
  return s;
}

} // namespace peerlab::kad
