// Local commands: what the REST API, the simulator's workload and tests ask
// of a node. Errors carry an HTTP-like status (fileset::status).
#include "protocols/fileset/fileset.hpp"

#include <charconv>

namespace peerlab::fileset {

namespace {

void fail(effects& fx, const peerlab::command& cmd, const char* status, std::string reason) {
  fx.emit(event{"command_failed",
                cmd.id,
                {{"verb", cmd.verb}, {"reason", std::move(reason)}, {"status", status}},
                {}});
}

std::optional<std::uint32_t> parse_u32(const std::string& s) {
  std::uint32_t v = 0;
  if (s.empty() || s.size() > 10)
    return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9')
      return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::string short_text(const std::string& s) { return s.size() > 40 ? s.substr(0, 40) + "..." : s; }

} // namespace

void fileset_role::cmd_put(context& ctx, const peerlab::command& cmd, effects& fx) {
  const auto& a = cmd.args;
  if (a.size() != 4)
    return fail(fx, cmd, status::bad_request, "put needs SET INDEX COUNT HEX");
  if (!valid_set_id(a[0]))
    return fail(fx, cmd, status::bad_request,
                "set id \"" + short_text(a[0]) + "\" must be 1..64 characters of [A-Za-z0-9._-]");
  auto index = parse_u32(a[1]);
  if (!index)
    return fail(fx, cmd, status::bad_request,
                "index \"" + short_text(a[1]) + "\" is not a non-negative integer");
  auto count = parse_u32(a[2]);
  if (!count || *count == 0 || *count > limits::max_set_files)
    return fail(fx, cmd, status::bad_request, "setCount must be an integer from 1 to 65536");
  if (*index >= *count)
    return fail(fx, cmd, status::bad_request,
                "index " + std::to_string(*index) + " is out of range for a set of " +
                  std::to_string(*count) + " files");
  const std::string& hex = a[3];
  const std::size_t digits = hex.size() - (hex.starts_with("0x") || hex.starts_with("0X") ? 2 : 0);
  if (digits / 2 > cfg_.max_file_bytes)
    return fail(fx, cmd, status::too_large,
                "file larger than max_file_bytes (" + std::to_string(cfg_.max_file_bytes) +
                  " bytes)");
  auto content = bytes_from_hex(hex);
  if (!content)
    return fail(fx, cmd, status::bad_request,
                "content is not hex (an even number of hex digits after an optional 0x)");
  const digest leaf = merkle::leaf_hash(*content);
  auto r = store_file(ctx, a[0], *count, *index, *content, leaf, "local", fx);
  switch (r) {
  case put_result::sets_full:
    return fail(fx, cmd, status::full, "this node already stores 4096 sets");
  case put_result::conflict_count:
    return fail(fx, cmd, status::conflict,
                "set " + a[0] + " has " + std::to_string(sets_.at(a[0]).count) + " files, not " +
                  std::to_string(*count));
  case put_result::conflict_index:
    return fail(fx, cmd, status::conflict,
                "index " + std::to_string(*index) + " of set " + a[0] +
                  (sets_.at(a[0]).complete ? " (complete)" : "") +
                  " already holds a different file");
  case put_result::stored:
  case put_result::unchanged:
    break;
  }
  // Re-posting the same file publishes again (gossip drops it as a duplicate
  // if it was seen recently): the earlier publish may have had no peers.
  publish_file(ctx, a[0], *count, *index, *content, leaf, fx);
  fx.emit(event{"fileset_put",
                cmd.id,
                {{"set", a[0]},
                 {"hash", to_hex(leaf)},
                 {"stored", r == put_result::stored ? "new" : "unchanged"}},
                {{"index", static_cast<double>(*index)},
                 {"count", static_cast<double>(*count)},
                 {"size", static_cast<double>(content->size())}}});
}

void fileset_role::cmd_get(context& ctx, const peerlab::command& cmd, effects& fx) {
  const auto& a = cmd.args;
  if (a.size() != 2)
    return fail(fx, cmd, status::bad_request, "get needs SET INDEX");
  if (!valid_set_id(a[0]))
    return fail(fx, cmd, status::bad_request,
                "set id \"" + short_text(a[0]) + "\" must be 1..64 characters of [A-Za-z0-9._-]");
  auto index = parse_u32(a[1]);
  if (!index)
    return fail(fx, cmd, status::bad_request,
                "index \"" + short_text(a[1]) + "\" is not a non-negative integer");
  auto it = sets_.find(a[0]);
  if (it == sets_.end())
    return fail(fx, cmd, status::not_found, "no set " + a[0] + " on this node");
  auto& s = it->second;
  if (*index >= s.count)
    return fail(fx, cmd, status::bad_request,
                "index " + std::to_string(*index) + " is out of range for a set of " +
                  std::to_string(s.count) + " files");
  if (!s.complete)
    return fail(fx, cmd, status::not_found,
                "set " + a[0] + " is incomplete on this node (" + std::to_string(s.leaves.size()) +
                  " of " + std::to_string(s.count) + " files)");
  auto content = read_file(ctx, a[0], *index);
  if (!content)
    return fail(fx, cmd, status::not_found, "file missing from this node's store");
  auto proof = s.tree.inclusion_proof(*index, s.count);
  if (cfg_.adversary == strategy::corrupt_content) {
    if (content->empty())
      content->push_back('\0');
    else
      (*content)[0] = static_cast<char>((*content)[0] ^ 0x01);
    fx.count("fileset.adversary_corrupted");
  } else if (cfg_.adversary == strategy::corrupt_proof) {
    if (proof.empty())
      proof.push_back(s.root);
    else
      proof[0][0] ^= 0x01;
    fx.count("fileset.adversary_corrupted");
  }
  fx.count("fileset.served");
  fx.emit(event{
    "fileset_file",
    cmd.id,
    {{"set", a[0]},
     {"content",
      to_hex(byte_view{reinterpret_cast<const std::uint8_t*>(content->data()), content->size()})},
     {"proof", join_proof(proof)},
     {"root", to_hex(s.root)}},
    {{"index", static_cast<double>(*index)},
     {"tree_size", static_cast<double>(s.count)},
     {"size", static_cast<double>(content->size())}}});
}

void fileset_role::cmd_status(context&, const peerlab::command& cmd, effects& fx) {
  const auto& a = cmd.args;
  if (a.size() != 1 || !valid_set_id(a[0]))
    return fail(fx, cmd, status::bad_request,
                "status needs one set id (1..64 characters of [A-Za-z0-9._-])");
  auto it = sets_.find(a[0]);
  if (it == sets_.end())
    return fail(fx, cmd, status::not_found, "no set " + a[0] + " on this node");
  auto& s = it->second;
  event e{"fileset_status",
          cmd.id,
          {{"set", a[0]}},
          {{"count", static_cast<double>(s.count)},
           {"stored", static_cast<double>(s.complete ? s.count : s.leaves.size())},
           {"complete", s.complete ? 1.0 : 0.0}}};
  if (s.complete)
    e.fields.push_back({"root", to_hex(s.root)});
  fx.emit(std::move(e));
}

} // namespace peerlab::fileset
