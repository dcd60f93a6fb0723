#include "net/mirror.hpp"

#include "net/drop_folder.hpp"

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace peerlab::net {

namespace fs = std::filesystem;

std::string validate(const mirror_options& o) {
  if (o.src.empty() || o.dst.empty())
    return "SRC and DST are needed";
  std::error_code ec;
  if (!fs::is_directory(o.src, ec))
    return "SRC " + o.src.string() + " is not a folder";
  if (fs::exists(o.dst, ec) && fs::equivalent(o.src, o.dst, ec))
    return "SRC and DST are the same folder";
  if (!(o.truncate >= 0 && o.truncate <= 1))
    return "--truncate must be a probability in [0, 1]";
  if (!(o.corrupt >= 0 && o.corrupt <= 1))
    return "--corrupt must be a probability per byte in [0, 1]";
  if (o.delay < 0)
    return "--delay must not be negative";
  return {};
}

mirror::mirror(mirror_options o) : o_(std::move(o)), rng_(derive_seed(o_.seed, 0x6d6972)) {
  if (auto e = validate(o_); !e.empty())
    throw std::invalid_argument("mirror: " + e);
  std::error_code ec;
  fs::create_directories(o_.dst, ec);
  if (ec)
    throw std::invalid_argument("mirror: cannot create DST " + o_.dst.string() + ": " +
                                ec.message());
}

void mirror::step(time_us now) {
  // Scan SRC/<sub>/<file> (one level of subfolders: one per recipient).
  std::set<std::string> present;
  bool complete = true;
  std::size_t looked = 0;
  std::error_code ec;
  for (fs::directory_iterator sub(o_.src, ec), end; !ec && sub != end && complete;
       sub.increment(ec)) {
    std::error_code sec;
    if (!sub->is_directory(sec))
      continue;
    auto sub_name = sub->path().filename().string();
    if (sub_name.empty() || sub_name[0] == '.')
      continue;
    for (fs::directory_iterator f(sub->path(), sec); !sec && f != end; f.increment(sec)) {
      if (++looked > o_.max_scan_entries) {
        complete = false;
        break;
      }
      auto name = f->path().filename().string();
      if (name.empty() || name[0] == '.')
        continue; // still being written
      std::error_code fec;
      if (!f->is_regular_file(fec))
        continue;
      auto rel = sub_name + "/" + name;
      present.insert(rel);
      if (!known_.count(rel) && known_.size() < o_.max_known) {
        time_us d = o_.delay > 0
                      ? static_cast<time_us>(rng_.below(static_cast<std::uint64_t>(o_.delay) + 1))
                      : 0;
        known_.emplace(rel, known_file{now + d, false});
      }
    }
  }
  if (complete) // forget files deleted in SRC, so memory stays bounded
    std::erase_if(known_, [&](const auto& kv) { return !present.count(kv.first); });
  for (auto& [rel, k] : known_)
    if (!k.copied && k.due <= now) {
      k.copied = true;
      copy(rel);
    }
}

time_us mirror::next_due() const {
  time_us t = std::numeric_limits<time_us>::max();
  for (auto& [rel, k] : known_)
    if (!k.copied)
      t = std::min(t, k.due);
  return t;
}

void mirror::copy(const std::string& rel) {
  auto data = read_whole_file(o_.src / rel, o_.max_file_bytes);
  if (!data) {
    std::error_code ec;
    ++(fs::exists(o_.src / rel, ec) ? stats_.skipped_oversize : stats_.vanished);
    return;
  }
  stats_.bytes_in += data->size();
  if (!data->empty() && rng_.chance(o_.truncate)) {
    data->resize(rng_.below(data->size())); // cut at a random byte
    ++stats_.truncated;
  }
  if (o_.corrupt > 0 && !data->empty()) {
    // Geometric gaps between rotten bytes: one draw per flip, not per byte.
    const double lg = std::log1p(-std::min(o_.corrupt, 1 - 1e-12));
    bool any = false;
    auto gap = [&] { return std::floor(std::log1p(-rng_.uniform01()) / lg); };
    for (double pos = gap(); pos < static_cast<double>(data->size()); pos += 1 + gap()) {
      (*data)[static_cast<std::size_t>(pos)] ^= static_cast<std::uint8_t>(1u << rng_.below(8));
      any = true;
    }
    stats_.corrupted += any;
  }
  auto slash = rel.find('/');
  try {
    write_file_atomically(o_.dst / rel.substr(0, slash), rel.substr(slash + 1),
                          {data->data(), data->size()});
    ++stats_.copied;
    stats_.bytes_out += data->size();
  } catch (const std::exception&) {
    ++stats_.errors;
  }
}

} // namespace peerlab::net
