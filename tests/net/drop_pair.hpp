#pragma once
// Two droplog hosts talking through real folders (layers 0 and 1 together),
// optionally through a fault-injecting mirror, with virtual time passed in by
// the test so runs are bounded and repeatable (the folders are real, the clock
// is not).
#include "net/drop_folder.hpp"
#include "net/mirror.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/droplog/host.hpp"
#include "protocols/common/memory_store.hpp"
#include "temp_dir.hpp"

#include <memory>
#include <optional>

namespace peerlab::drop_test {

inline constexpr peer_id id_a = 0x1111222233334444ull, id_b = 0x5555666677778888ull;

inline droplog::session_config small_session() {
  droplog::session_config c;
  c.shared_key = "folder test shared key, 32 bytes";
  c.fragment_bytes = 256;
  c.min_packet_bytes = 2048;
  c.max_packet_bytes = 16 * 1024;
  c.initial_packet_bytes = 4096;
  c.size_increase_bytes = 512;
  c.max_ack_delay = 20 * us_per_ms;
  c.initial_rtt = 200 * us_per_ms;
  return c;
}

inline bytes body_of(std::uint64_t i, std::size_t size, std::uint64_t salt) {
  bytes b(size);
  rng r(derive_seed(salt, i));
  for (std::size_t k = 0; k < size; ++k)
    b[k] = static_cast<std::uint8_t>(k < 8 ? (i >> (8 * k)) : r.next());
  return b;
}

/// Side s (0 = a, 1 = b) writes into out[s] and reads in[s]. Without a mirror
/// both use one shared folder; with one, a mirror copies out[a] -> in[b] and
/// out[b] -> in[a].
class folder_pair {
public:
  folder_pair(const std::filesystem::path& root, std::optional<net::mirror_options> faults)
      : root_(root) {
    for (int s = 0; s < 2; ++s) {
      out_[s] = faults ? root / (s ? "b_out" : "a_out") : root / "shared";
      in_[s] = faults ? root / (s ? "b_in" : "a_in") : root / "shared";
    }
    for (int s = 0; s < 2; ++s)
      open(s);
    if (faults) {
      for (int s = 0; s < 2; ++s) {
        auto o = *faults;
        o.src = out_[s];
        o.dst = in_[1 - s];
        o.seed = faults->seed + static_cast<std::uint64_t>(s);
        mirror_[s] = std::make_unique<net::mirror>(o);
      }
    }
  }

  /// Crash and restart a side: only its kv_store survives (and the folders).
  void restart(int s) {
    host_[s].reset();
    folder_[s].reset();
    open(s);
  }

  droplog::host& host(int s) { return *host_[s]; }
  net::drop_folder& folder(int s) { return *folder_[s]; }
  peer_id id(int s) const { return s ? id_b : id_a; }

  /// One round at virtual time `now`: mirrors copy, each side reads, writes, deletes.
  /// Returns the messages each side received.
  std::vector<droplog::delivered_message> step(int s, time_us now) {
    std::vector<droplog::delivered_message> got;
    for (auto& m : mirror_)
      if (m)
        m->step(now);
    for (auto& f : folder_[s]->scan()) {
      auto in = host_[s]->on_file(now, {f.data.data(), f.data.size()});
      bool useless = in.unrouted;
      for (auto& e : in.result.events)
        useless = useless || e.kind == droplog::event_kind::packet_rejected;
      if (useless)
        folder_[s]->remove_incoming(f.name);
      for (auto& m : in.result.delivered)
        got.push_back(std::move(m));
    }
    auto r = host_[s]->poll(now);
    for (auto& f : r.files)
      folder_[s]->write(f.to, f.packet.packet_id, {f.packet.data.data(), f.packet.data.size()});
    for (auto& [peer, d] : host_[s]->take_deletable())
      d.side == droplog::folder_side::outgoing ? folder_[s]->remove_outgoing(peer, d.packet_id)
                                               : folder_[s]->remove_incoming(peer, d.packet_id);
    return got;
  }

  const net::mirror* mirror(int s) const { return mirror_[s].get(); }

private:
  void open(int s) {
    folder_[s] = std::make_unique<net::drop_folder>(out_[s], in_[s], id(s));
    host_[s] = std::make_unique<droplog::host>(id(s), std::vector<peer_id>{id(1 - s)},
                                               small_session(), &store_[s]);
  }

  std::filesystem::path root_, out_[2], in_[2];
  memory_store store_[2];
  std::unique_ptr<net::drop_folder> folder_[2];
  std::unique_ptr<droplog::host> host_[2];
  std::unique_ptr<net::mirror> mirror_[2];
};

} // namespace peerlab::drop_test
