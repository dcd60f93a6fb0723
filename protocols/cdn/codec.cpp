#include "protocols/cdn/codec.hpp"

#include "protocols/cdn/cdn.hpp"
#include "protocols/common/wire.hpp"

namespace peerlab::cdn {

bytes encode_hello(port_t to, const hello& m) {
  return wire::build([&](wire::writer& w) {
    w.header(to, static_cast<std::uint8_t>(m.ack ? frame_type::hello_ack : frame_type::hello));
    w.u64(m.nonce);
  });
}

bytes encode_request(port_t to, const request& m) {
  return wire::build([&](wire::writer& w) {
    w.header(to, static_cast<std::uint8_t>(frame_type::request));
    w.u32(m.req);
    w.str16(m.url.substr(0, bounds::url_max));
    w.fixed(m.sha);
    w.u64(m.offset);
    w.u32(m.length);
  });
}

bytes encode_data(std::uint32_t req, std::uint64_t total, std::uint64_t offset, byte_view payload) {
  return wire::build([&](wire::writer& w) {
    w.header(ports::cdn_client, static_cast<std::uint8_t>(frame_type::data));
    w.u32(req);
    w.u64(total);
    w.u64(offset);
    w.raw(payload.subspan(0, std::min(payload.size(), bounds::chunk_max)));
  });
}

bytes encode_reject(std::uint32_t req, reject_reason why) {
  return wire::build([&](wire::writer& w) {
    w.header(ports::cdn_client, static_cast<std::uint8_t>(frame_type::reject));
    w.u32(req);
    w.u8(static_cast<std::uint8_t>(why));
  });
}

bool decode(byte_view frame, message& out, std::string& err) {
  wire::reader r(frame);
  wire::fields f(r);
  std::uint8_t port = 0;
  frame_type type{};
  f.u8(port, "port").enum8(type, 1, 5, "type", "cdn frame type");
  if (!f.ok()) {
    err = f.error();
    return false;
  }
  switch (type) {
  case frame_type::hello:
  case frame_type::hello_ack: {
    hello m{0, type == frame_type::hello_ack};
    f.u64(m.nonce, "nonce");
    out = m;
    break;
  }
  case frame_type::request: {
    request m;
    f.u32(m.req, "req")
      .str16(m.url, bounds::url_max, "url")
      .fixed(m.sha, "sha224")
      .u64(m.offset, "offset")
      .u32(m.length, "length")
      .check(m.length > 0 && m.length <= bounds::window_max,
             [&] {
               return "length " + std::to_string(m.length) + " outside 1.." +
                      std::to_string(bounds::window_max);
             })
      .check(!m.url.empty(), "empty url");
    out = m;
    break;
  }
  case frame_type::data: {
    data m;
    f.u32(m.req, "req").u64(m.total, "total").u64(m.offset, "offset");
    if (f.ok())
      m.payload = r.rest();
    f.check(m.total <= bounds::resource_max,
            [&] { return "total " + std::to_string(m.total) + " above the resource bound"; })
      .check(m.payload.size() <= bounds::chunk_max, "payload above 16 KiB")
      .check(m.offset <= m.total && m.payload.size() <= m.total - m.offset,
             "payload past the resource's end");
    out = m;
    break;
  }
  case frame_type::reject: {
    reject m;
    f.u32(m.req, "req").enum8(m.reason, 1, 4, "reason", "reject reason");
    out = m;
    break;
  }
  }
  if (f.ok() && !r.at_end())
    f.check(false, "trailing bytes");
  err = f.error();
  return err.empty();
}

} // namespace peerlab::cdn
