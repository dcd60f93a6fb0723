#include "net/mirror.hpp"
#include "net/folder_walk.hpp"

#include "net/drop_folder.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

namespace peerlab::net {

namespace fs = std::filesystem;

std::string validate(const mirror_options& o) {
  if (o.src.empty() || o.dst.empty())
    return "SRC and DST are needed";
  std::error_code ec;
  // A missing SRC or DST is created (the mirror may start before the sides
  // that write and read them); only something that is not a folder is refused.
  if (fs::exists(o.src, ec) && !fs::is_directory(o.src, ec))
    return "SRC " + o.src.string() + " is not a folder";
  if (fs::exists(o.dst, ec) && !fs::is_directory(o.dst, ec))
    return "DST " + o.dst.string() + " is not a folder";
  if (fs::exists(o.dst, ec) && fs::equivalent(o.src, o.dst, ec))
    return "SRC and DST are the same folder";
  if (!(o.loss >= 0 && o.loss <= 1))
    return "--loss must be a probability in [0, 1]";
  if (!(o.duplicate >= 0 && o.duplicate <= 1))
    return "--duplicate must be a probability in [0, 1]";
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
  rules_.add(link::loss(o_.loss)).add(link::duplicate(o_.duplicate));
  if (o_.delay > 0)
    rules_.add(link::delay(1, o_.delay));
  rules_.add(link::truncate(o_.truncate)).add(link::bit_rot(o_.corrupt));
  for (auto* d : {&o_.src, &o_.dst}) {
    std::error_code ec;
    fs::create_directories(*d, ec);
    if (ec)
      throw std::invalid_argument(std::string("mirror: cannot create ") +
                                  (d == &o_.src ? "SRC " : "DST ") + d->string() + ": " +
                                  ec.message());
  }
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
        auto size = f->file_size(fec);
        auto fate = rules_.run({0, 0, now, fec ? 0 : static_cast<std::size_t>(size)}, rng_);
        known_file k;
        for (std::size_t c = 0; c < fate.copies; ++c)
          k.copies.push_back({now + fate.copy[c].delay, std::move(fate.copy[c])});
        stats_.lost += fate.copies == 0;
        stats_.duplicated += fate.copies > 1;
        known_.emplace(rel, std::move(k));
      }
    }
  }
  if (complete) // forget files deleted in SRC, so memory stays bounded
    std::erase_if(known_, [&](const auto& kv) { return !present.count(kv.first); });
  for (auto& entry : known_) // not a structured binding: clang 14 cannot capture one
    std::erase_if(entry.second.copies, [&](const pending_copy& p) {
      if (p.due > now)
        return false;
      copy(entry.first, p.fate);
      return true;
    });
}

time_us mirror::next_due() const {
  time_us t = std::numeric_limits<time_us>::max();
  for (auto& [rel, k] : known_)
    for (auto& p : k.copies)
      t = std::min(t, p.due);
  return t;
}

void mirror::copy(const std::string& rel, const link::copy_fate& fate) {
  auto data = read_whole_file(o_.src / rel, o_.max_file_bytes);
  if (!data) {
    std::error_code ec;
    ++(fs::exists(o_.src / rel, ec) ? stats_.skipped_oversize : stats_.vanished);
    return;
  }
  stats_.bytes_in += data->size();
  auto before = data->size();
  link::apply(fate, *data);
  stats_.truncated += data->size() < before;
  stats_.corrupted += std::any_of(fate.bits.begin(), fate.bits.end(),
                                  [&](std::uint64_t b) { return b / 8 < data->size(); });
  auto slash = rel.find('/');
  try {
    // The recipient's folder is opened below dst without following a link.
    write_below_atomically(o_.dst, rel.substr(0, slash), rel.substr(slash + 1),
                           {data->data(), data->size()});
    ++stats_.copied;
    stats_.bytes_out += data->size();
  } catch (const std::exception&) {
    ++stats_.errors;
  }
}

} // namespace peerlab::net
