// Local commands: what the REST API, the simulator's workload and tests ask
// of a node. Errors carry an HTTP-like status (fileset::status).
#include "protocols/fileset/fileset.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/peer_list.hpp"
#include "protocols/common/text.hpp"

namespace peerlab::fileset {

void put_file::describe(std::string& out) const {
  describe_arg(out, set);
  describe_arg(out, index);
  describe_arg(out, count);
  describe_arg(out, to_hex(byte_view{content.data(), content.size()}));
}

namespace {

std::optional<std::uint32_t> parse_u32(const std::string& s) {
  auto v = parse_u64(s);
  if (!v || *v > 0xffffffffu)
    return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

std::string short_text(const std::string& s) { return quote_arg(s, 40); }

std::optional<command> parse_put(const std::vector<std::string>& a, std::size_t max_file_bytes,
                                 command_error& err) {
  auto bad = [&](fail_code code, std::string reason) -> std::optional<command> {
    err = {code, std::move(reason)};
    return std::nullopt;
  };
  if (a.size() != 4)
    return bad(fail_code::bad_request, "put needs SET INDEX COUNT HEX");
  if (!valid_set_id(a[0]))
    return bad(fail_code::bad_request,
               "set id \"" + short_text(a[0]) + "\" must be 1..64 characters of [A-Za-z0-9._-]");
  auto index = parse_u32(a[1]);
  if (!index)
    return bad(fail_code::bad_request,
               "index \"" + short_text(a[1]) + "\" is not a non-negative integer");
  auto count = parse_u32(a[2]);
  if (!count || *count == 0 || *count > limits::set_files_max)
    return bad(fail_code::bad_request, "setCount must be an integer from 1 to 65536");
  if (*index >= *count)
    return bad(fail_code::bad_request, "index " + std::to_string(*index) +
                                         " is out of range for a set of " + std::to_string(*count) +
                                         " files");
  const std::string& hex = a[3];
  const std::size_t digits = hex.size() - (hex.starts_with("0x") || hex.starts_with("0X") ? 2 : 0);
  if (digits / 2 > max_file_bytes)
    return bad(fail_code::too_large,
               "file larger than max_file_bytes (" + std::to_string(max_file_bytes) + " bytes)");
  auto content = bytes_from_hex(hex);
  if (!content)
    return bad(fail_code::bad_request,
               "content is not hex (an even number of hex digits after an optional 0x)");
  return put_file{a[0], *index, *count, std::move(*content)};
}

} // namespace

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& a,
                                     std::size_t max_file_bytes, command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  if (a.size() > peerlab::limits::command_args_max)
    return bad("too many arguments (at most 64)");
  if (verb == put_file::verb)
    return parse_put(a, max_file_bytes, err);
  if (verb == get_file::verb) {
    if (a.size() != 2)
      return bad("get needs SET INDEX");
    if (!valid_set_id(a[0]))
      return bad("set id \"" + short_text(a[0]) + "\" must be 1..64 characters of [A-Za-z0-9._-]");
    auto index = parse_u32(a[1]);
    if (!index)
      return bad("index \"" + short_text(a[1]) + "\" is not a non-negative integer");
    return get_file{a[0], *index};
  }
  if (verb == set_status::verb) {
    if (a.size() != 1 || !valid_set_id(a[0]))
      return bad("status needs one set id (1..64 characters of [A-Za-z0-9._-])");
    return set_status{a[0]};
  }
  if (verb == connect_peers::verb)
    return parse_peers_command<connect_peers>(verb, a, err);
  if (verb == disconnect_peers::verb)
    return parse_peers_command<disconnect_peers>(verb, a, err);
  if (verb == sync_now::verb)
    return sync_now{};
  return bad("fileset knows the verbs put, get, status, connect, disconnect, sync; got \"" +
             quote_arg(verb, 80) + "\"");
}

void fileset_role::cmd_put(context& ctx, const peerlab::command& cmd, const put_file& p,
                           effects& fx) {
  if (p.content.size() > cfg_.max_file_bytes)
    return fx.fail(cmd, fail_code::too_large,
                   "file larger than max_file_bytes (" + std::to_string(cfg_.max_file_bytes) +
                     " bytes)");
  if (!valid_set_id(p.set) || p.count == 0 || p.count > limits::set_files_max || p.index >= p.count)
    return fx.fail(cmd, fail_code::bad_request, "put: bad set id, index or count");
  const std::string& set = p.set;
  const auto index = p.index, count = p.count;
  const bytes& content = p.content;
  const digest leaf = merkle::leaf_hash(content);
  auto r = store_file(ctx, set, count, index, content, leaf, "local", fx);
  switch (r) {
  case put_result::sets_full:
    return fx.fail(cmd, fail_code::storage_full, "this node already stores 4096 sets");
  case put_result::conflict_count:
    return fx.fail(cmd, fail_code::conflict,
                   "set " + set + " has " + std::to_string(sets_.at(set).count) + " files, not " +
                     std::to_string(count));
  case put_result::conflict_index:
    return fx.fail(cmd, fail_code::conflict,
                   "index " + std::to_string(index) + " of set " + set +
                     (sets_.at(set).complete ? " (complete)" : "") +
                     " already holds a different file");
  case put_result::stored:
  case put_result::unchanged:
    break;
  }
  // Re-posting the same file publishes again (gossip drops it as a duplicate
  // if it was seen recently): the earlier publish may have had no peers.
  publish_file(ctx, set, count, index, content, leaf, fx);
  fx.emit(event{"fileset_put",
                cmd.id,
                {{"set", set},
                 {"hash", to_hex(leaf)},
                 {"stored", r == put_result::stored ? "new" : "unchanged"}},
                {{"index", static_cast<double>(index)},
                 {"count", static_cast<double>(count)},
                 {"size", static_cast<double>(content.size())}}});
}

void fileset_role::cmd_get(context& ctx, const peerlab::command& cmd, const get_file& g,
                           effects& fx) {
  const std::string& set = g.set;
  const auto index = g.index;
  auto it = sets_.find(set);
  if (it == sets_.end())
    return fx.fail(cmd, fail_code::not_found, "no set " + set + " on this node");
  auto& s = it->second;
  if (index >= s.count)
    return fx.fail(cmd, fail_code::bad_request,
                   "index " + std::to_string(index) + " is out of range for a set of " +
                     std::to_string(s.count) + " files");
  if (!s.complete)
    return fx.fail(cmd, fail_code::not_found,
                   "set " + set + " is incomplete on this node (" +
                     std::to_string(s.leaves.size()) + " of " + std::to_string(s.count) +
                     " files)");
  auto content = read_file(ctx, set, index);
  if (!content)
    return fx.fail(cmd, fail_code::not_found, "file missing from this node's store");
  auto proof = s.tree.inclusion_proof(index, s.count);
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
    {{"set", set},
     {"content",
      to_hex(byte_view{reinterpret_cast<const std::uint8_t*>(content->data()), content->size()})},
     {"proof", join_proof(proof)},
     {"root", to_hex(s.root)}},
    {{"index", static_cast<double>(index)},
     {"tree_size", static_cast<double>(s.count)},
     {"size", static_cast<double>(content->size())}}});
}

void fileset_role::cmd_status(context&, const peerlab::command& cmd, const set_status& q,
                              effects& fx) {
  const std::string& set = q.set;
  auto it = sets_.find(set);
  if (it == sets_.end())
    return fx.fail(cmd, fail_code::not_found, "no set " + set + " on this node");
  auto& s = it->second;
  event e{"fileset_status",
          cmd.id,
          {{"set", set}},
          {{"count", static_cast<double>(s.count)},
           {"stored", static_cast<double>(s.complete ? s.count : s.leaves.size())},
           {"complete", s.complete ? 1.0 : 0.0}}};
  if (s.complete)
    e.fields.push_back({"root", to_hex(s.root)});
  fx.emit(std::move(e));
}

} // namespace peerlab::fileset
