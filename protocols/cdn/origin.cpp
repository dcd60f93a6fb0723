#include "protocols/cdn/origin.hpp"

namespace peerlab::cdn {

void origin::start(context&, effects& fx) {
  resources_.clear();
  auto site = build_site(cfg_.resources);
  for (auto& r : site.resources)
    resources_[r.entry.url] = held{r.entry.sha, std::move(r.data), r.entry.size};
  listing_ = std::move(site.listing);
  fx.emit(event{"cdn_origin_ready",
                0,
                {{"page", cfg_.page}},
                {{"resources", static_cast<double>(cfg_.resources.size())}}});
}

void origin::frame(context& ctx, peer_id from, byte_view frame, effects& fx) {
  message m;
  std::string err;
  if (!decode(frame, m, err) || !std::holds_alternative<request>(m)) {
    fx.count("frames_rejected");
    return;
  }
  auto& r = std::get<request>(m);
  fx.count("cdn_origin_requests");
  if (r.url == cfg_.page) {
    held page;
    page.data.assign(listing_.begin(), listing_.end());
    page.size = page.data.size();
    send_range(ctx, from, r.req, page, r.offset, r.length, fx);
    return;
  }
  auto it = resources_.find(r.url);
  if (it == resources_.end() || it->second.sha != r.sha) {
    fx.send(from, encode_reject(r.req, reject_reason::not_held));
    return;
  }
  send_range(ctx, from, r.req, it->second, r.offset, r.length, fx);
}

void origin::send_range(context&, peer_id to, std::uint32_t req, const held& h,
                        std::uint64_t offset, std::uint32_t length, effects& fx) {
  if (offset > h.size) {
    fx.send(to, encode_reject(req, reject_reason::bad_range));
    return;
  }
  const std::uint64_t end = std::min<std::uint64_t>(h.size, offset + length);
  std::uint64_t at = offset;
  do {
    const std::uint64_t n = std::min<std::uint64_t>(bounds::chunk_max, end - at);
    fx.send(to, encode_data(req, h.size, at, byte_view(h.data.data() + at, n)));
    fx.count("cdn_origin_served_bytes", static_cast<double>(n));
    at += n;
  } while (at < end);
}

} // namespace peerlab::cdn
