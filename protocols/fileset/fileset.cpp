// Lifecycle, frame dispatch, timers and the glue to the owned gossip role.
// Storage: store.cpp; commands: commands.cpp; back-sync: sync.cpp.
#include "protocols/fileset/fileset.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/gossip/gossip.hpp"

#include <charconv>
#include <stdexcept>

namespace peerlab::fileset {

namespace {

// Our timer tokens have bit 63 set; the gossip role's never do.
constexpr std::uint64_t own_bit = 1ull << 63;
enum timer_kind : std::uint64_t { t_tick = 1, t_sync = 2, t_flood = 3 };

std::uint64_t token(std::uint64_t epoch, timer_kind k) { return own_bit | (epoch << 8) | k; }

} // namespace

std::optional<strategy> strategy_from_name(const std::string& name) {
  if (name.empty() || name == "honest")
    return strategy::honest;
  if (name == "corrupt_content")
    return strategy::corrupt_content;
  if (name == "corrupt_proof")
    return strategy::corrupt_proof;
  if (name == "drop_gossip")
    return strategy::drop_gossip;
  if (name == "flood_invalid")
    return strategy::flood_invalid;
  return std::nullopt;
}

std::string config::check() const {
  if (auto e = gossip.check(); !e.empty())
    return "gossip: " + e;
  if (!gossip::valid_topic(topic))
    return "topic must be 1..256 printable ASCII characters without spaces";
  // An inline message: kind, set id, count, index, content length, content, checksum.
  const std::size_t overhead = 1 + 2 + limits::set_id_max + 4 + 4 + 4 + payload_checksum_bytes;
  if (inline_max == 0 || inline_max + overhead > gossip.max_message_bytes)
    return "inline_max must be at least 1 B and leave 87 bytes of header within the gossip "
           "max_message_bytes (" +
           std::to_string(gossip.max_message_bytes) + ")";
  if (max_file_bytes < inline_max || max_file_bytes > limits::file_bytes_max)
    return "max_file_bytes must be between inline_max and 64 MiB";
  if (chunk_bytes == 0 || chunk_bytes > limits::chunk_bytes_max)
    return "chunk_bytes must be 1 B..1 MiB";
  if (max_fetches == 0 || max_fetches > limits::fetches_max)
    return "max_fetches must be 1..64";
  if (tick <= 0 || request_timeout <= 0 || retry_delay < 0 || sync_initial_delay < 0 ||
      sync_interval <= 0 || flood_interval <= 0)
    return "durations must be positive";
  if (sync_peers == 0 || manifest_quorum == 0 || fetch_rounds == 0)
    return "sync_peers, manifest_quorum and fetch_rounds must be at least 1";
  return {};
}

fileset_role::fileset_role(config cfg) : cfg_(std::move(cfg)) {
  bool has_topic = false;
  for (auto& t : cfg_.gossip.topics)
    has_topic |= t == cfg_.topic;
  if (!has_topic)
    cfg_.gossip.topics.push_back(cfg_.topic);
  if (auto err = cfg_.check(); !err.empty())
    throw std::invalid_argument("fileset config: " + err);
  gossip_ = gossip::make_gossip(cfg_.gossip);
  gossip_->set_validator([this](const std::string& topic, byte_view data, peer_id from) {
    return validate(topic, data, from);
  });
  gossip_->set_delivery_hook([this](const gossip::delivery& d) { on_delivery(d); });
}

std::shared_ptr<fileset_role> make_fileset(const config& cfg) {
  return std::make_shared<fileset_role>(cfg);
}

const char* fileset_role::message_name(std::uint8_t type) const {
  if (type >= 1 && type <= 6)
    return gossip::type_name(type);
  return sync_type_name(type);
}

// Runs the inner gossip role with our context available to its callbacks,
// then moves its frames onto our port. `forwarding`: the call may forward
// other nodes' messages (frames, timers), which drop_gossip suppresses.
template <class F>
void fileset_role::with_gossip(context& ctx, effects& fx, bool forwarding, F&& f) {
  const std::size_t first = fx.frames.size();
  cur_ctx_ = &ctx;
  cur_fx_ = &fx;
  f();
  cur_ctx_ = nullptr;
  cur_fx_ = nullptr;
  std::size_t out = first;
  for (std::size_t i = first; i < fx.frames.size(); ++i) {
    auto& fr = fx.frames[i];
    if (!fr.data.empty() && fr.data[0] == ports::gossip) {
      if (forwarding && cfg_.adversary == strategy::drop_gossip && fr.data.size() > 1 &&
          fr.data[1] == static_cast<std::uint8_t>(gossip::msg_type::message)) {
        fx.count("fileset.adversary_dropped");
        continue;
      }
      fr.data[0] = ports::fileset;
    }
    if (out != i)
      fx.frames[out] = std::move(fr);
    ++out;
  }
  fx.frames.resize(out);
}

void fileset_role::start(context& ctx, effects& fx) {
  // In-memory state does not survive a crash; the rows do.
  ++epoch_;
  sets_.clear();
  wanted_.clear();
  active_fetches_ = 0;
  requests_.clear();
  next_req_ = 1;
  syncing_.clear();
  bad_peers_.clear();
  load(ctx, fx);
  with_gossip(ctx, fx, false, [&] { gossip_->start(ctx, fx); });
  fx.after(cfg_.tick, token(epoch_, t_tick));
  fx.after(cfg_.sync_initial_delay, token(epoch_, t_sync));
  if (cfg_.adversary == strategy::flood_invalid)
    fx.after(cfg_.flood_interval, token(epoch_, t_flood));
}

void fileset_role::stop(context& ctx, effects& fx) {
  with_gossip(ctx, fx, false, [&] { gossip_->stop(ctx, fx); });
}

void fileset_role::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (data.size() < 2) {
    fx.count("frames_rejected");
    return;
  }
  const std::uint8_t type = data[1];
  if (type >= 1 && type <= 6) {
    bytes copy(data.begin(), data.end());
    copy[0] = ports::gossip;
    with_gossip(ctx, fx, true, [&] { gossip_->frame(ctx, from, copy, fx); });
    return;
  }
  sync_frame f;
  std::string error;
  if (!decode_sync(data, f, error)) {
    fx.count("frames_rejected");
    return;
  }
  if (from == ctx.self)
    return;
  on_sync_frame(ctx, from, f, fx);
}

void fileset_role::timer(context& ctx, std::uint64_t tok, effects& fx) {
  if (!(tok & own_bit)) {
    with_gossip(ctx, fx, true, [&] { gossip_->timer(ctx, tok, fx); });
    return;
  }
  if (((tok & ~own_bit) >> 8) != epoch_)
    return; // a timer of an earlier life
  switch (tok & 0xff) {
  case t_tick:
    expire_requests(ctx, fx);
    pump_fetches(ctx, fx);
    fx.after(cfg_.tick, tok);
    break;
  case t_sync:
    sync_round(ctx, fx);
    fx.after(cfg_.sync_interval, tok);
    break;
  case t_flood:
    flood_invalid(ctx, fx);
    fx.after(cfg_.flood_interval, tok);
    break;
  default:
    break;
  }
}

// ---- commands ----------------------------------------------------------------------

void fileset_role::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  auto* body = cmd.as<fileset::command>();
  if (!body)
    return fx.fail(cmd, fail_code::bad_request,
                   "fileset knows the commands put, get, status, connect, disconnect, sync");
  if (auto* c = std::get_if<put_file>(body))
    return cmd_put(ctx, cmd, *c, fx);
  if (auto* c = std::get_if<get_file>(body))
    return cmd_get(ctx, cmd, *c, fx);
  if (auto* c = std::get_if<set_status>(body))
    return cmd_status(ctx, cmd, *c, fx);
  if (auto* c = std::get_if<connect_peers>(body))
    return cmd_peers(ctx, cmd, c->peers, true, fx);
  if (auto* c = std::get_if<disconnect_peers>(body))
    return cmd_peers(ctx, cmd, c->peers, false, fx);
  sync_round(ctx, fx);
  fx.emit(event{"command_done", cmd.id, {{"verb", std::string(cmd.verb())}}, {}});
}

void fileset_role::cmd_peers(context& ctx, const peerlab::command& cmd,
                             const std::vector<peer_id>& peers, bool connect, effects& fx) {
  for (auto p : peers) {
    if (!connect) {
      with_gossip(ctx, fx, false, [&] { gossip_->disconnect(ctx, p, fx); });
      continue;
    }
    std::string err;
    with_gossip(ctx, fx, false, [&] { err = gossip_->connect(ctx, p, fx); });
    if (!err.empty())
      return fx.fail(cmd, fail_code::bad_request, err);
    ask_list(ctx, p, "", fx); // a new peer: learn which sets it completed
  }
  fx.emit(event{"command_done", cmd.id, {{"verb", std::string(cmd.verb())}}, {}});
}

// ---- gossip glue --------------------------------------------------------------

gossip::validation fileset_role::validate(const std::string& topic, byte_view data, peer_id) {
  if (bypass_validation_)
    return gossip::validation::accept;
  if (topic != cfg_.topic)
    return gossip::validation::ignore;
  payload p;
  std::string error;
  if (!decode_payload(data, cfg_.inline_max, cfg_.max_file_bytes, p, error)) {
    if (cur_fx_)
      cur_fx_->count("fileset.invalid_messages");
    return gossip::validation::reject;
  }
  std::string set;
  std::uint32_t count = 0, index = 0;
  digest leaf{};
  if (auto* f = std::get_if<file_msg>(&p)) {
    set = f->set, count = f->count, index = f->index;
    leaf = merkle::leaf_hash(f->content);
  } else {
    auto& a = std::get<announce_msg>(p);
    if (a.size <= cfg_.inline_max) { // honest nodes send such files inline
      if (cur_fx_)
        cur_fx_->count("fileset.invalid_messages");
      return gossip::validation::reject;
    }
    set = a.set, count = a.count, index = a.index, leaf = a.leaf;
  }
  auto it = sets_.find(set);
  if (it == sets_.end())
    return sets_.size() >= limits::sets_max ? gossip::validation::ignore
                                            : gossip::validation::accept;
  auto& s = it->second;
  if (s.count != count) {
    if (cur_fx_)
      cur_fx_->count("fileset.invalid_messages");
    return gossip::validation::reject; // contradicts the set's count
  }
  digest have{};
  if (has_leaf(s, index, &have)) {
    if (have == leaf)
      return gossip::validation::accept;
    if (s.complete) {
      // A completed set is committed to by its root: another file is a lie.
      if (cur_fx_)
        cur_fx_->count("fileset.invalid_messages");
      return gossip::validation::reject;
    }
    // Two uploads raced for one index of an incomplete set: first one wins
    // here, without blaming the relay.
    return gossip::validation::ignore;
  }
  if (auto w = wanted_.find({set, index}); w != wanted_.end() && w->second.leaf != leaf)
    return gossip::validation::ignore;
  return gossip::validation::accept;
}

void fileset_role::on_delivery(const gossip::delivery& d) {
  if (d.local || !cur_ctx_ || !cur_fx_)
    return;
  auto& ctx = *cur_ctx_;
  auto& fx = *cur_fx_;
  payload p;
  std::string error;
  if (!decode_payload(d.data, cfg_.inline_max, cfg_.max_file_bytes, p, error))
    return; // validated before delivery; unreachable
  if (auto* f = std::get_if<file_msg>(&p)) {
    auto r = store_file(ctx, f->set, f->count, f->index, f->content, merkle::leaf_hash(f->content),
                        "gossip", fx);
    if (r == put_result::conflict_index || r == put_result::conflict_count)
      fx.count("fileset.conflicts");
    return;
  }
  auto& a = std::get<announce_msg>(p);
  auto it = sets_.find(a.set);
  if (it != sets_.end() && has_leaf(it->second, a.index, nullptr))
    return;
  std::vector<peer_id> candidates{d.from};
  if (a.origin != d.from)
    candidates.push_back(a.origin);
  want_file(ctx, a.set, a.index, a.count, a.leaf, a.size, std::move(candidates), fx);
}

void fileset_role::publish_file(context& ctx, const std::string& set, std::uint32_t count,
                                std::uint32_t index, byte_view content, const digest& leaf,
                                effects& fx) {
  bytes msg;
  if (content.size() <= cfg_.inline_max)
    msg = encode(file_msg{set, count, index, bytes(content.begin(), content.end())});
  else
    msg = encode(announce_msg{set, count, index, content.size(), leaf, ctx.self});
  std::string error;
  bool ok = false;
  with_gossip(ctx, fx, false,
              [&] { ok = gossip_->publish(ctx, cfg_.topic, msg, fx, error).has_value(); });
  fx.count(ok ? "fileset.published"
              : "fileset.publish_skipped"); // skipped: a re-post seen recently
}

void fileset_role::flood_invalid(context& ctx, effects& fx) {
  // Cycles through the ways a file message can be invalid; every one is
  // unique (a counter inside), so gossip's seen cache does not absorb it.
  const std::uint64_t n = flood_counter_++;
  bytes msg;
  const std::string set = "flood-" + std::to_string(n);
  switch (n % 4) {
  case 0: { // not a payload at all (random bytes: the checksum fails)
    msg.resize(24);
    for (auto& b : msg)
      b = static_cast<std::uint8_t>(ctx.random.next());
    break;
  }
  case 1: // index not below the count
    msg = encode(file_msg{set, 4, 4, bytes{1, 2, 3}});
    break;
  case 2: { // contradicts the count of a set the network has, if we know one
    if (!sets_.empty()) {
      auto& [id, s] = *sets_.begin();
      msg = encode(file_msg{id, s.count + 1, 0, bytes(8, static_cast<std::uint8_t>(n))});
    } else {
      msg = encode(file_msg{set, 0, 0, bytes{}});
    }
    break;
  }
  default: // a small file announced instead of sent inline
    msg = encode(announce_msg{set, 2, 0, 1, merkle::leaf_hash(bytes{1}), ctx.self});
    break;
  }
  std::string error;
  bypass_validation_ = true;
  with_gossip(ctx, fx, false, [&] { gossip_->publish(ctx, cfg_.topic, msg, fx, error); });
  bypass_validation_ = false;
  fx.count("fileset.adversary_invalid_published");
}

// ---- proofs as text -------------------------------------------------------------

std::string join_proof(const std::vector<digest>& path) {
  std::string out;
  for (auto& h : path) {
    if (!out.empty())
      out += ',';
    out += to_hex(h);
  }
  return out;
}

std::optional<std::vector<digest>> split_proof(std::string_view text) {
  std::vector<digest> out;
  if (text.empty())
    return out;
  std::size_t pos = 0;
  for (;;) {
    auto comma = text.find(',', pos);
    auto part =
      text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    auto d = digest_from_hex(part);
    if (!d || out.size() >= merkle::max_proof_hashes)
      return std::nullopt;
    out.push_back(*d);
    if (comma == std::string_view::npos)
      return out;
    pos = comma + 1;
  }
}

} // namespace peerlab::fileset
