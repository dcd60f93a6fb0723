#include "net/handshake.hpp"

#include "protocols/common/wire.hpp"

#include <cstring>

namespace peerlab::net {

namespace {
constexpr char magic[4] = {'P', 'L', 'A', 'B'};
}

bytes encode_hello(const hello& h) {
  bytes out;
  out.reserve(16 + max_hello_address); // one allocation; also quiets a g++ 12 false warning
  wire::writer w(out);
  w.raw(byte_view{reinterpret_cast<const std::uint8_t*>(magic), 4});
  w.u16(protocol_version);
  w.u64(h.id);
  w.str16(h.listen.size() <= max_hello_address ? h.listen : std::string{});
  return out;
}

std::variant<hello, std::string> decode_hello(byte_view frame) {
  wire::reader r(frame);
  std::array<std::uint8_t, 4> m{};
  if (!r.fixed(m))
    return std::string("hello truncated before the magic");
  if (std::memcmp(m.data(), magic, 4) != 0)
    return std::string("not a peerlab hello (bad magic)");
  std::uint16_t version = 0;
  if (!r.u16(version))
    return std::string("hello truncated before the version");
  if (version != protocol_version)
    return "unsupported protocol version " + std::to_string(version) + " (this node speaks " +
           std::to_string(protocol_version) + ")";
  hello h;
  if (!r.u64(h.id))
    return std::string("hello truncated before the peer id");
  if (!r.str16(h.listen, max_hello_address))
    return std::string("hello listen address truncated or longer than 255 bytes");
  if (!r.at_end())
    return std::string("hello has trailing bytes");
  return h;
}

} // namespace peerlab::net
