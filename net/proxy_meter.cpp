#include "net/proxy_meter.hpp"

namespace peerlab::net::proxy {

meter::meter(report_fn report, std::uint64_t report_bytes, time_us report_interval)
    : report_(std::move(report)), report_bytes_(report_bytes ? report_bytes : 1),
      interval_(report_interval) {}

void meter::take(const std::string& id, entry& e, std::vector<pending>& out) {
  if (e.unreported.up == 0 && e.unreported.down == 0)
    return;
  out.push_back({id, e.unreported});
  e.unreported = {};
  ++reports_;
}

void meter::deliver(const std::vector<pending>& out) {
  if (!report_ || out.empty())
    return;
  std::lock_guard g(deliver_mu_);
  for (auto& p : out)
    report_(p.id, p.bytes.up, p.bytes.down);
}

void meter::add(const std::string& id, std::uint64_t up, std::uint64_t down, time_us now) {
  if (up == 0 && down == 0)
    return;
  std::vector<pending> out;
  {
    std::lock_guard g(mu_);
    auto& e = entries_[id];
    if (e.unreported.up == 0 && e.unreported.down == 0)
      e.since = now;
    e.total.up += up;
    e.total.down += down;
    e.unreported.up += up;
    e.unreported.down += down;
    if (e.unreported.up + e.unreported.down >= report_bytes_ || now - e.since >= interval_)
      take(id, e, out);
  }
  deliver(out);
}

void meter::flush_due(time_us now) {
  std::vector<pending> out;
  {
    std::lock_guard g(mu_);
    for (auto& [id, e] : entries_)
      if (now - e.since >= interval_)
        take(id, e, out);
  }
  deliver(out);
}

void meter::flush(const std::string& id) {
  std::vector<pending> out;
  {
    std::lock_guard g(mu_);
    if (auto it = entries_.find(id); it != entries_.end())
      take(id, it->second, out);
  }
  deliver(out);
}

byte_totals meter::totals(const std::string& id) const {
  std::lock_guard g(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? byte_totals{} : it->second.total;
}

std::uint64_t meter::reports() const {
  std::lock_guard g(mu_);
  return reports_;
}

} // namespace peerlab::net::proxy
