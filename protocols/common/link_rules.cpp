#include "protocols/common/link_rules.hpp"

#include <algorithm>
#include <cmath>

namespace peerlab::link {

const char* name(rule_kind k) {
  switch (k) {
  case rule_kind::partition:
    return "partition";
  case rule_kind::loss:
    return "loss";
  case rule_kind::duplicate:
    return "duplicate";
  case rule_kind::delay:
    return "delay";
  case rule_kind::truncate:
    return "truncate";
  case rule_kind::corrupt:
    return "corrupt";
  case rule_kind::bit_rot:
    return "bit_rot";
  case rule_kind::truncate_by_size:
    return "truncate_by_size";
  }
  return "?";
}

bool partition_rule::cuts(std::uint32_t from, std::uint32_t to, time_us now) const {
  for (auto& w : windows_)
    if (w.from == from && w.to == to && now >= w.start && now < w.until)
      return true;
  return false;
}

verdict partition_rule::judge(const frame_info& f, rng&) const {
  verdict v;
  if (cuts(f.from, f.to, f.now))
    v.what = verdict::kind::drop;
  return v;
}

namespace {

using vk = verdict::kind;

verdict of(vk k) {
  verdict v;
  v.what = k;
  return v;
}

// A rule that fires with probability p and then builds its verdict.
template <rule_kind K, class Fire>
class chance_rule final : public rule {
public:
  chance_rule(double p, Fire fire) : p_(p), fire_(std::move(fire)) {}
  rule_kind kind() const override { return K; }
  verdict judge(const frame_info& f, rng& r) const override {
    if (K == rule_kind::truncate || K == rule_kind::corrupt)
      if (f.size == 0)
        return {}; // nothing to cut or flip: no draw
    if (!r.chance(p_))
      return {};
    return fire_(f, r);
  }

private:
  double p_;
  Fire fire_;
};

template <rule_kind K, class Fire>
std::unique_ptr<rule> make(double p, Fire fire) {
  if (!(p > 0))
    return nullptr;
  return std::make_unique<chance_rule<K, Fire>>(p, std::move(fire));
}

class bit_rot_rule final : public rule {
public:
  explicit bit_rot_rule(double p) : lg_(std::log1p(-std::min(p, 1 - 1e-12))) {}
  rule_kind kind() const override { return rule_kind::bit_rot; }
  verdict judge(const frame_info& f, rng& r) const override {
    verdict v;
    if (f.size == 0)
      return v;
    auto size = static_cast<double>(f.size);
    auto gap = [&] { return std::floor(std::log1p(-r.uniform01()) / lg_); };
    for (double pos = gap(); pos < size && v.bits.size() < bounds::flips_per_frame_max;
         pos += 1 + gap())
      v.bits.push_back(static_cast<std::uint64_t>(pos) * 8 + r.below(8));
    if (!v.bits.empty())
      v.what = vk::flip;
    return v;
  }

private:
  double lg_; // log(1 - p): gaps between rotten bytes are geometric
};

class size_truncate_rule final : public rule {
public:
  explicit size_truncate_rule(double scale) : scale_(scale) {}
  rule_kind kind() const override { return rule_kind::truncate_by_size; }
  verdict judge(const frame_info& f, rng& r) const override {
    if (f.size == 0)
      return {}; // nothing to cut: no draw
    auto at = size_cut(f.size, scale_, r);
    if (at >= f.size)
      return {};
    auto v = of(vk::truncate);
    v.at = at;
    return v;
  }

private:
  double scale_;
};

} // namespace

std::size_t size_cut(std::size_t size, double scale_bytes, rng& r) {
  // The first byte at which the frame breaks is exponential with mean scale.
  const double at = std::floor(r.exponential(scale_bytes));
  return at < static_cast<double>(size) ? static_cast<std::size_t>(at) : size;
}

double scale_for(double p, double size) { return -size / std::log1p(-p); }

std::unique_ptr<rule> truncate_by_size(std::uint64_t scale_bytes) {
  if (scale_bytes == 0)
    return nullptr;
  return std::make_unique<size_truncate_rule>(static_cast<double>(scale_bytes));
}

std::unique_ptr<rule> loss(double p) {
  return make<rule_kind::loss>(p, [](const frame_info&, rng&) { return of(vk::drop); });
}

std::unique_ptr<rule> duplicate(double p) {
  return make<rule_kind::duplicate>(p, [](const frame_info&, rng&) { return of(vk::duplicate); });
}

std::unique_ptr<rule> delay(double p, time_us max) {
  return make<rule_kind::delay>(p, [max](const frame_info&, rng& r) {
    auto v = of(vk::delay);
    v.delay = max > 0 ? static_cast<time_us>(r.below(static_cast<std::uint64_t>(max) + 1)) : 0;
    return v;
  });
}

std::unique_ptr<rule> truncate(double p) {
  return make<rule_kind::truncate>(p, [](const frame_info& f, rng& r) {
    auto v = of(vk::truncate);
    v.at = r.below(f.size);
    return v;
  });
}

std::unique_ptr<rule> corrupt(double p) {
  return make<rule_kind::corrupt>(p, [](const frame_info& f, rng& r) {
    auto v = of(vk::flip);
    v.bits.push_back(r.below(f.size * 8));
    return v;
  });
}

std::unique_ptr<rule> bit_rot(double per_byte) {
  if (!(per_byte > 0))
    return nullptr;
  return std::make_unique<bit_rot_rule>(per_byte);
}

chain& chain::add(std::unique_ptr<rule> r) {
  if (r)
    rules_.push_back(std::move(r));
  return *this;
}

fate chain::run(const frame_info& f, rng& r) const {
  fate out;
  out.copies = 1;
  out.copy[0].size = f.size;
  run_from(0, f, 0, out, r);
  // Keep the copies that survived, in order.
  std::size_t kept = 0;
  for (std::size_t c = 0; c < out.copies; ++c) {
    if (out.copy[c].dropped) {
      if (!out.dropped) {
        out.dropped = true; // remember the first drop for the counters
        out.dropped_by = out.copy[c].dropped_by;
      }
      continue;
    }
    if (kept != c)
      out.copy[kept] = std::move(out.copy[c]);
    ++kept;
  }
  out.copies = kept;
  out.dropped = kept == 0;
  return out;
}

void chain::run_from(std::size_t i, frame_info f, std::size_t c, fate& out, rng& r) const {
  for (; i < rules_.size(); ++i) {
    auto v = rules_[i]->judge(f, r);
    auto& cp = out.copy[c];
    switch (v.what) {
    case vk::pass:
      break;
    case vk::drop:
      cp.dropped = true;
      cp.dropped_by = rules_[i]->kind();
      return;
    case vk::duplicate:
      if (out.copies < bounds::copies_max) {
        auto d = out.copies++;
        out.copy[d] = cp;
        out.duplicated = true;
        run_from(i + 1, f, d, out, r);
      }
      break;
    case vk::delay:
      cp.delay += v.delay;
      cp.delayed = true;
      break;
    case vk::truncate:
      cp.size = std::min(cp.size, v.at);
      cp.truncated = true;
      f.size = cp.size;
      std::erase_if(cp.bits, [&](std::uint64_t b) { return b / 8 >= cp.size; });
      break;
    case vk::flip:
      for (auto b : v.bits)
        if (b / 8 < cp.size && cp.bits.size() < bounds::flips_per_frame_max)
          cp.bits.push_back(b);
      break;
    }
  }
}

void apply(const copy_fate& c, bytes& frame) {
  if (c.truncated && c.size < frame.size())
    frame.resize(c.size);
  for (auto b : c.bits)
    if (b / 8 < frame.size())
      frame[b / 8] ^= static_cast<std::uint8_t>(1u << (b % 8));
}

} // namespace peerlab::link
