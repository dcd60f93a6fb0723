// Back-sync: LIST completed sets of peers, adopt a set's manifest once
// `manifest_quorum` distinct peers list the same (count, root) and its leaf
// hashes rebuild that root, then FETCH every missing file in chunks and check
// it against its leaf hash before storing it. Large announced files use the
// same FETCH path. Policies: docs/protocols/fileset.md "Back-sync".
#include "protocols/fileset/fileset.hpp"
#include "protocols/fileset/tables.hpp"

#include <algorithm>

namespace peerlab::fileset {

std::vector<peer_id> fileset_role::good_peers() const {
  std::vector<peer_id> out;
  for (auto p : gossip_->peers())
    if (!is_bad(p))
      out.push_back(p);
  return out;
}

void fileset_role::mark_bad(peer_id p, effects& fx) {
  if (is_bad(p) || bad_peers_.size() >= limits::bad_peers_max)
    return;
  bad_peers_.insert(p);
  fx.count("fileset.bad_peers");
  fx.emit(event{"fileset_bad_peer", 0, {{"peer", std::to_string(p)}}, {}});
}

std::uint32_t fileset_role::new_request(context& ctx, sync_type kind, peer_id p,
                                        const std::string& set, std::uint32_t index) {
  if (requests_.size() >= limits::requests_max)
    return 0;
  std::uint32_t req = next_req_++;
  if (req == 0)
    req = next_req_++;
  requests_[req] = pending_request{kind, p, set, index, ctx.now + cfg_.request_timeout};
  return req;
}

void fileset_role::sync_round(context& ctx, effects& fx) {
  // An adopted manifest whose fetches all gave up starts over from new votes.
  for (auto it = syncing_.begin(); it != syncing_.end();) {
    bool fetching = false;
    if (it->second.adopted)
      for (auto w = wanted_.lower_bound({it->first, 0});
           w != wanted_.end() && w->first.first == it->first; ++w)
        fetching = true;
    it = it->second.adopted && !fetching ? syncing_.erase(it) : std::next(it);
  }
  auto peers = good_peers();
  const std::size_t n = std::min(cfg_.sync_peers, peers.size());
  for (std::size_t i = 0; i < n; ++i) { // partial Fisher-Yates on the node's generator
    std::swap(peers[i], peers[i + ctx.random.below(peers.size() - i)]);
    ask_list(ctx, peers[i], "", fx);
  }
}

void fileset_role::ask_list(context& ctx, peer_id p, const std::string& after, effects& fx) {
  if (p == ctx.self || is_bad(p))
    return;
  auto req = new_request(ctx, sync_type::list_req, p, after, 0);
  if (!req) {
    fx.count("fileset.requests_full");
    return;
  }
  fx.send(p, encode(list_req{req, after}));
  fx.count("fileset.list_requests");
}

void fileset_role::on_sync_frame(context& ctx, peer_id from, sync_frame& f, effects& fx) {
  // Requests are served statelessly; responses must answer a request we sent
  // to that very peer.
  if (auto* m = std::get_if<list_req>(&f))
    return on_list_req(ctx, from, *m, fx);
  if (auto* m = std::get_if<manifest_req>(&f))
    return on_manifest_req(ctx, from, *m, fx);
  if (auto* m = std::get_if<fetch_req>(&f))
    return on_fetch_req(ctx, from, *m, fx);
  std::uint32_t req = 0;
  sync_type expected{};
  std::visit(
    [&](auto& m) {
      using T = std::decay_t<decltype(m)>;
      req = m.req;
      if constexpr (std::is_same_v<T, list_resp>)
        expected = sync_type::list_req;
      else if constexpr (std::is_same_v<T, manifest_resp>)
        expected = sync_type::manifest_req;
      else
        expected = sync_type::fetch_req;
    },
    f);
  auto it = requests_.find(req);
  if (it == requests_.end() || it->second.peer != from || it->second.kind != expected) {
    fx.count("fileset.unexpected_responses");
    return;
  }
  const pending_request pr = it->second;
  requests_.erase(it);
  if (auto* m = std::get_if<list_resp>(&f))
    return on_list_resp(ctx, from, *m, pr, fx);
  if (auto* m = std::get_if<manifest_resp>(&f)) {
    if (m->set != pr.set) {
      mark_bad(from, fx);
      return;
    }
    return on_manifest_resp(ctx, from, *m, fx);
  }
  on_fetch_resp(ctx, from, std::get<fetch_resp>(f), pr, fx);
}

// ---- serving ----------------------------------------------------------------------

void fileset_role::on_list_req(context&, peer_id from, const list_req& m, effects& fx) {
  list_resp r{m.req, {}, false};
  for (auto it = sets_.upper_bound(m.after); it != sets_.end(); ++it) {
    if (!it->second.complete)
      continue;
    if (r.sets.size() == limits::list_entries_max) {
      r.more = true;
      break;
    }
    r.sets.push_back({it->first, it->second.count, it->second.root});
  }
  fx.send(from, encode(r));
}

void fileset_role::on_manifest_req(context&, peer_id from, const manifest_req& m, effects& fx) {
  manifest_resp r;
  r.req = m.req;
  r.set = m.set;
  auto it = sets_.find(m.set);
  if (it != sets_.end() && it->second.complete) {
    auto& s = it->second;
    r.found = true;
    r.count = s.count;
    r.root = s.root;
    r.leaves.reserve(s.count);
    for (std::uint32_t i = 0; i < s.count; ++i)
      r.leaves.push_back(s.tree.leaf(i));
    if (cfg_.adversary == strategy::corrupt_proof) {
      r.leaves[0][0] ^= 0x01;
      fx.count("fileset.adversary_corrupted");
    }
  }
  fx.count("fileset.manifests_served");
  fx.send(from, encode(r));
}

void fileset_role::on_fetch_req(context& ctx, peer_id from, const fetch_req& m, effects& fx) {
  fetch_resp r;
  r.req = m.req;
  r.set = m.set;
  r.index = m.index;
  auto it = sets_.find(m.set);
  std::optional<std::string> content;
  if (it != sets_.end() && has_leaf(it->second, m.index, nullptr))
    content = read_file(ctx, m.set, m.index);
  if (content && m.offset <= content->size()) {
    r.found = true;
    r.total = content->size();
    r.offset = m.offset;
    const std::size_t n = std::min<std::uint64_t>(m.max_len, r.total - m.offset);
    auto* p = reinterpret_cast<const std::uint8_t*>(content->data()) + m.offset;
    r.data.assign(p, p + n);
    if (cfg_.adversary == strategy::corrupt_content && m.offset == 0) {
      if (r.data.empty()) {
        r.data.push_back(0);
        r.total = 1;
      } else {
        r.data[0] ^= 0x01;
      }
      fx.count("fileset.adversary_corrupted");
    }
    fx.count("fileset.chunks_served");
  }
  fx.send(from, encode(r));
}

// ---- set lists and manifests ----------------------------------------------------------

void fileset_role::on_list_resp(context& ctx, peer_id from, const list_resp& m,
                                const pending_request&, effects& fx) {
  for (auto& s : m.sets) {
    auto it = sets_.find(s.set);
    if (it != sets_.end() && it->second.complete) {
      if (it->second.root != s.root || it->second.count != s.count)
        fx.count("fileset.root_disagreements");
      continue;
    }
    if (!syncing_.count(s.set) && syncing_.size() >= limits::syncing_sets_max) {
      fx.count("fileset.syncing_full");
      continue;
    }
    auto& st = syncing_[s.set];
    if (st.refused.count(from))
      continue;
    st.votes[{s.count, s.root}].insert(from);
    maybe_ask_manifest(ctx, s.set, fx);
  }
  if (m.more && !m.sets.empty())
    ask_list(ctx, from, m.sets.back().set, fx);
}

void fileset_role::maybe_ask_manifest(context& ctx, const std::string& set, effects& fx) {
  auto it = syncing_.find(set);
  if (it == syncing_.end())
    return;
  auto& st = it->second;
  if (st.adopted || st.manifest_req != 0)
    return;
  // A quorum of distinct peers must list the same (count, root); with fewer
  // peers than the quorum, all of them.
  const std::size_t peers = std::max<std::size_t>(1, good_peers().size());
  const std::size_t needed = std::min(cfg_.manifest_quorum, peers);
  const std::set<peer_id>* best = nullptr;
  for (auto& [key, voters] : st.votes)
    if (voters.size() >= needed && (!best || voters.size() > best->size()))
      best = &voters;
  if (!best)
    return;
  std::vector<peer_id> choice;
  for (auto p : *best)
    if (!st.refused.count(p) && !is_bad(p))
      choice.push_back(p);
  if (choice.empty())
    return;
  const peer_id p = choice[ctx.random.below(choice.size())];
  auto req = new_request(ctx, sync_type::manifest_req, p, set, 0);
  if (!req) {
    fx.count("fileset.requests_full");
    return;
  }
  st.manifest_req = req;
  fx.send(p, encode(manifest_req{req, set}));
  fx.count("fileset.manifest_requests");
}

void fileset_role::on_manifest_resp(context& ctx, peer_id from, manifest_resp& m, effects& fx) {
  auto it = syncing_.find(m.set);
  if (it == syncing_.end())
    return; // completed meanwhile
  auto& st = it->second;
  st.manifest_req = 0;
  auto drop_votes = [&] {
    for (auto& [_, voters] : st.votes)
      voters.erase(from);
  };
  if (!m.found) {
    drop_votes();
    return maybe_ask_manifest(ctx, m.set, fx);
  }
  auto v = st.votes.find({m.count, m.root});
  const std::size_t needed =
    std::min(cfg_.manifest_quorum, std::max<std::size_t>(1, good_peers().size()));
  bool consistent = v != st.votes.end() && v->second.count(from) && v->second.size() >= needed;
  if (consistent) {
    merkle::tree t;
    t.reserve(m.count);
    for (auto& l : m.leaves)
      t.append_hash(l);
    consistent = t.root() == m.root;
  }
  if (!consistent) {
    // Leaves that do not rebuild the root the peer listed: a lying peer.
    fx.count("fileset.bad_manifests");
    st.refused.insert(from);
    drop_votes();
    mark_bad(from, fx);
    return maybe_ask_manifest(ctx, m.set, fx);
  }
  st.adopted = true;
  st.count = m.count;
  st.root = m.root;
  st.holders.clear();
  for (auto p : v->second)
    if (!is_bad(p))
      st.holders.push_back(p);
  fx.count("fileset.manifests_adopted");
  // An incomplete local copy that disagrees with the agreed manifest was
  // never served (only complete sets are): replace it.
  if (auto local = sets_.find(m.set); local != sets_.end() && local->second.count != m.count) {
    for (auto& [index, _] : std::map<std::uint32_t, digest>(local->second.leaves))
      erase_file(ctx, m.set, index);
    sets_.erase(local);
    ctx.store.erase(sets_table(), {m.set});
    fx.count("fileset.replaced_local");
  }
  std::vector<peer_id> holders = st.holders;
  for (std::uint32_t i = 0; i < m.count; ++i) {
    auto local = sets_.find(m.set);
    digest have{};
    if (local != sets_.end() && has_leaf(local->second, i, &have)) {
      if (have == m.leaves[i])
        continue;
      erase_file(ctx, m.set, i);
      fx.count("fileset.replaced_local");
    }
    // Spread the load: each file starts with a different holder.
    std::vector<peer_id> c(holders.size());
    for (std::size_t k = 0; k < holders.size(); ++k)
      c[k] = holders[(k + i) % holders.size()];
    want_file(ctx, m.set, i, m.count, m.leaves[i], 0, std::move(c), fx);
  }
}

// ---- fetching files --------------------------------------------------------------------

void fileset_role::want_file(context& ctx, const std::string& set, std::uint32_t index,
                             std::uint32_t count, const digest& leaf, std::uint64_t size,
                             std::vector<peer_id> candidates, effects& fx) {
  std::erase_if(candidates, [&](peer_id p) { return p == ctx.self || is_bad(p); });
  const file_key key{set, index};
  if (auto it = wanted_.find(key); it != wanted_.end()) {
    auto& w = it->second;
    if (w.leaf != leaf)
      return; // the first description wins until it fails
    for (auto p : candidates)
      if (std::find(w.candidates.begin(), w.candidates.end(), p) == w.candidates.end())
        w.candidates.push_back(p);
    return;
  }
  if (candidates.empty()) {
    fx.count("fileset.no_candidates");
    return;
  }
  if (wanted_.size() >= limits::wanted_max) {
    fx.count("fileset.wanted_full");
    return;
  }
  wanted w;
  w.leaf = leaf;
  w.count = count;
  w.size = size;
  w.candidates = std::move(candidates);
  w.not_before = ctx.now;
  wanted_.emplace(key, std::move(w));
  pump_fetches(ctx, fx);
}

void fileset_role::pump_fetches(context& ctx, effects& fx) {
  for (auto it = wanted_.begin(); it != wanted_.end() && active_fetches_ < cfg_.max_fetches;) {
    auto& [key, w] = *it;
    auto next = std::next(it);
    if (w.active_req == 0 && w.not_before <= ctx.now)
      request_chunk(ctx, key, w, fx);
    it = next;
  }
}

void fileset_role::request_chunk(context& ctx, const file_key& key, wanted& w, effects& fx) {
  // Skip candidates caught lying since they were listed.
  std::size_t tries = 0;
  while (tries < w.candidates.size() && is_bad(w.candidates[w.next % w.candidates.size()])) {
    ++w.next;
    ++tries;
  }
  if (tries == w.candidates.size()) {
    if (w.active_req != 0)
      --active_fetches_;
    fx.count("fileset.fetch_gave_up");
    wanted_.erase(key);
    return;
  }
  const peer_id p = w.candidates[w.next % w.candidates.size()];
  auto req = new_request(ctx, sync_type::fetch_req, p, key.first, key.second);
  if (!req) {
    fx.count("fileset.requests_full");
    if (w.active_req != 0) { // a file half fetched: start it over later
      --active_fetches_;
      w.active_req = 0;
      w.buffer.clear();
    }
    w.not_before = ctx.now + cfg_.retry_delay;
    return;
  }
  if (w.active_req == 0)
    ++active_fetches_;
  w.active_req = req;
  w.asked = p;
  std::uint32_t len = cfg_.chunk_bytes;
  if (w.size > 0)
    len = static_cast<std::uint32_t>(std::max<std::uint64_t>(
      1, std::min<std::uint64_t>(len, w.size - std::min<std::uint64_t>(w.size, w.buffer.size()))));
  fx.send(p, encode(fetch_req{req, key.first, key.second, w.buffer.size(), len}));
  fx.count("fileset.fetch_requests");
}

void fileset_role::fetch_failed(context& ctx, const file_key& key, wanted& w, bool bad_peer,
                                effects& fx) {
  if (bad_peer)
    mark_bad(w.asked, fx);
  if (w.active_req != 0)
    --active_fetches_;
  w.active_req = 0;
  w.buffer.clear();
  ++w.next;
  if (w.next % w.candidates.size() == 0) {
    // Every candidate failed once: the one who announced it may still be
    // fetching it itself, so wait and go round again, a bounded number of times.
    if (++w.rounds >= cfg_.fetch_rounds) {
      fx.count("fileset.fetch_gave_up");
      wanted_.erase(key);
      return;
    }
    w.not_before = ctx.now + cfg_.retry_delay;
  }
}

void fileset_role::on_fetch_resp(context& ctx, peer_id from, fetch_resp& m,
                                 const pending_request& pr, effects& fx) {
  const file_key key{pr.set, pr.index};
  auto it = wanted_.find(key);
  if (it == wanted_.end() || it->second.active_req != m.req)
    return; // stored meanwhile (gossip or another fetch)
  auto& w = it->second;
  auto failed = [&](bool bad) {
    fetch_failed(ctx, key, w, bad, fx);
    pump_fetches(ctx, fx);
  };
  if (m.set != pr.set || m.index != pr.index)
    return failed(true);
  if (!m.found)
    return failed(false);
  if (m.total > cfg_.max_file_bytes || (w.size > 0 && m.total != w.size) ||
      m.offset != w.buffer.size() || (m.data.empty() && w.buffer.size() != m.total)) {
    fx.count("fileset.bad_chunks");
    return failed(true);
  }
  w.buffer.insert(w.buffer.end(), m.data.begin(), m.data.end());
  if (w.buffer.size() < m.total) {
    w.size = m.total; // later chunks must agree on the size
    return request_chunk(ctx, key, w, fx);
  }
  if (merkle::leaf_hash(w.buffer) != w.leaf) {
    fx.count("fileset.corrupt_rejected");
    fx.emit(event{"fileset_corrupt_rejected",
                  0,
                  {{"set", pr.set}, {"peer", std::to_string(from)}},
                  {{"index", static_cast<double>(pr.index)}}});
    return failed(true);
  }
  bytes content = std::move(w.buffer);
  const std::uint32_t count = w.count;
  const digest leaf = w.leaf;
  --active_fetches_;
  wanted_.erase(it);
  auto r = store_file(ctx, pr.set, count, pr.index, content, leaf, "sync", fx);
  if (r == put_result::conflict_index || r == put_result::conflict_count)
    fx.count("fileset.conflicts");
  pump_fetches(ctx, fx);
}

void fileset_role::expire_requests(context& ctx, effects& fx) {
  std::vector<std::pair<std::uint32_t, pending_request>> expired;
  for (auto& [req, pr] : requests_)
    if (pr.deadline <= ctx.now)
      expired.push_back({req, pr});
  for (auto& [req, pr] : expired) {
    requests_.erase(req);
    fx.count("fileset.request_timeouts");
    if (pr.kind == sync_type::fetch_req) {
      auto it = wanted_.find({pr.set, pr.index});
      if (it != wanted_.end() && it->second.active_req == req)
        fetch_failed(ctx, it->first, it->second, false, fx);
    } else if (pr.kind == sync_type::manifest_req) {
      auto it = syncing_.find(pr.set);
      if (it != syncing_.end() && it->second.manifest_req == req) {
        it->second.manifest_req = 0;
        for (auto& [_, voters] : it->second.votes)
          voters.erase(pr.peer);
        maybe_ask_manifest(ctx, pr.set, fx);
      }
    }
  }
}

} // namespace peerlab::fileset
