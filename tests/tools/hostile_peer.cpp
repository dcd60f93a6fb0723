// hostile_peer: the attacks of a hostile outsider against a live `peerlab node`
// or one of its HTTP APIs, for tests/scripts/live_hostile.sh. Each attack
// opens its connections, holds them for --hold seconds (or until the node
// closes them) and prints one JSON line with what happened. Peer connections
// run TLS 1.3 with a fresh Ed25519 key and a valid hello, as a real peer's do,
// so the attacks reach what lies behind the handshake.
//
//   hostile_peer ATTACK ADDRESS [--count N] [--hold S] [--hash HEX] [--length BYTES]
//                                [--sources K] [--path /api/...]
//   prefix    N connections: hello, then a 4 MiB length prefix and nothing more
//   idle      N connections: hello, then silence
//   noread    N connections each ask for --length bytes of --hash and never read
//   tiny      one connection asks for --length bytes of --hash in 1-byte chunks, reads it all
//   flood     N plain TCP connections, as fast as possible (no TLS: for EMFILE)
//   http-idle N plain TCP connections to an HTTP API that send nothing
//   http-bytes N plain TCP connections to an HTTP server that send one byte each
//   http-json one POST to --path with a 32 MiB body of nested arrays
//
// Connections come from --sources source addresses 127.0.1.1 ... so the node's
// per-address bound does not stop them, as with a botnet; an honest peer on
// 127.0.0.1 is a different address.
#include "net/framing.hpp"
#include "net/handshake.hpp"
#include "net/identity.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/filexfer/codec.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace peerlab;

namespace {

struct options {
  std::string attack, address, hash, path = "/api/ledger/fund";
  int count = 1, sources = 8;
  double hold = 5;
  std::uint64_t length = 16 << 20;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "hostile_peer: %s\n", why.c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  if (argc < 3)
    usage("usage: hostile_peer ATTACK ADDRESS [--count N] [--hold S] [--hash HEX] [--length B] "
          "[--sources K] [--path P]");
  options o;
  o.attack = argv[1];
  o.address = argv[2];
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--count")
      o.count = std::stoi(v);
    else if (k == "--hold")
      o.hold = std::stod(v);
    else if (k == "--hash")
      o.hash = v;
    else if (k == "--length")
      o.length = std::stoull(v);
    else if (k == "--sources")
      o.sources = std::stoi(v);
    else if (k == "--path")
      o.path = v;
    else
      usage("unknown option " + k);
  }
  return o;
}

/// A blocking TCP connection from 127.0.1.(1 + n % sources); -1 if refused.
int dial(const options& o, int n) {
  auto colon = o.address.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(o.address.substr(colon + 1))));
  inet_pton(AF_INET, o.address.substr(0, colon).c_str(), &to.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000101u + static_cast<std::uint32_t>(n % o.sources));
  timeval tv{5, 0}; // a node that stops answering must not hang the attack
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct tls_conn {
  int fd = -1;
  SSL* ssl = nullptr;
};

/// TLS 1.3 with the attacker's key, then its hello; fd -1 if the node refused.
tls_conn dial_peer(const options& o, int n, SSL_CTX* ctx, peer_id me) {
  tls_conn c;
  c.fd = dial(o, n);
  if (c.fd < 0)
    return c;
  c.ssl = SSL_new(ctx);
  SSL_set_fd(c.ssl, c.fd);
  bytes hello;
  net::encode_frame(net::encode_hello({me, ""}), hello);
  if (SSL_connect(c.ssl) != 1 ||
      SSL_write(c.ssl, hello.data(), static_cast<int>(hello.size())) <= 0) {
    SSL_free(c.ssl);
    ::close(c.fd);
    return {};
  }
  return c;
}

bool send_frame(tls_conn& c, const bytes& frame) {
  bytes out;
  net::encode_frame(frame, out);
  return SSL_write(c.ssl, out.data(), static_cast<int>(out.size())) > 0;
}

/// True if the node has closed the connection: drains what it sent (its hello,
/// TLS records) without blocking and looks for the end of the stream.
bool closed_by_node(int fd) {
  char buf[1 << 16];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0)
      return true;
    if (n < 0)
      return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

/// Tells the script the connections are open (it measures the honest peer now).
void ready(std::size_t open) {
  std::printf("{\"ready\":%zu}\n", open);
  std::fflush(stdout);
}

void hold_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

int peer_attack(const options& o) {
  auto me = net::node_identity::ephemeral();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  me->configure(ctx);
  digest hash{};
  if (o.attack == "noread" || o.attack == "tiny") {
    auto h = digest_from_hex(o.hash);
    if (!h)
      usage("--hash must be 64 hex digits");
    hash = *h;
  }
  std::vector<tls_conn> conns;
  int refused = 0;
  std::uint64_t received = 0;
  for (int i = 0; i < o.count; ++i) {
    auto c = dial_peer(o, i, ctx, me->id());
    if (c.fd < 0) {
      ++refused;
      continue;
    }
    bool ok = true;
    if (o.attack == "prefix") {
      std::uint8_t prefix[4] = {0, 0, 0x40, 0}; // 4 MiB, little-endian
      ok = SSL_write(c.ssl, prefix, 4) > 0;
    } else if (o.attack == "noread") {
      ok = send_frame(c, filexfer::encode(filexfer::content_req{
                           1, hash, 0, static_cast<std::uint32_t>(o.length), 1 << 20}));
    } else if (o.attack == "tiny") {
      ok = send_frame(c, filexfer::encode(filexfer::content_req{
                           1, hash, 0, static_cast<std::uint32_t>(o.length), 1}));
      ready(1);
      // Read everything the node sends until it has sent what was asked or goes quiet.
      char buf[1 << 16];
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.hold);
      while (ok && received < o.length && std::chrono::steady_clock::now() < until) {
        int n = SSL_read(c.ssl, buf, sizeof buf);
        if (n <= 0)
          break;
        received += static_cast<std::uint64_t>(n);
      }
    }
    if (!ok)
      ++refused;
    conns.push_back(c);
  }
  if (o.attack != "tiny") {
    ready(conns.size());
    hold_for(o.hold);
  }
  int closed = 0;
  for (auto& c : conns) {
    closed += closed_by_node(c.fd) ? 1 : 0;
    SSL_free(c.ssl);
    ::close(c.fd);
  }
  SSL_CTX_free(ctx);
  std::printf("{\"attack\":\"%s\",\"opened\":%zu,\"refused\":%d,\"closed_by_node\":%d,"
              "\"received\":%llu}\n",
              o.attack.c_str(), conns.size(), refused, closed,
              static_cast<unsigned long long>(received));
  return 0;
}

int socket_attack(const options& o) {
  std::vector<int> fds;
  int refused = 0;
  for (int i = 0; i < o.count; ++i) {
    int fd = dial(o, i);
    if (fd < 0) {
      ++refused;
      continue;
    }
    if (o.attack == "http-bytes")
      ::send(fd, "G", 1, MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  ready(fds.size());
  hold_for(o.hold);
  int closed = 0;
  for (int fd : fds) {
    closed += closed_by_node(fd) ? 1 : 0;
    ::close(fd);
  }
  std::printf("{\"attack\":\"%s\",\"opened\":%zu,\"refused\":%d,\"closed_by_node\":%d}\n",
              o.attack.c_str(), fds.size(), refused, closed);
  return 0;
}

/// Sends a 32 MiB body of '[' and reports the status line the server answered.
int json_bomb(const options& o) {
  int fd = dial(o, 0);
  if (fd < 0)
    usage("cannot connect to " + o.address);
  ready(1);
  const std::size_t size = 32u << 20;
  std::string head =
    "POST " + o.path + " HTTP/1.1\r\nHost: " + o.address +
    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  std::string chunk(1 << 16, '[');
  std::size_t sent = 0;
  while (sent < size) {
    auto n = ::send(fd, chunk.data(), std::min(chunk.size(), size - sent), MSG_NOSIGNAL);
    if (n <= 0)
      break; // the server stopped reading: its answer is what counts
    sent += static_cast<std::size_t>(n);
  }
  char buf[512] = {};
  auto n = ::recv(fd, buf, sizeof buf - 1, 0);
  std::string status = n > 12 ? std::string(buf + 9, 3) : "none";
  ::close(fd);
  std::printf("{\"attack\":\"http-json\",\"body_sent\":%zu,\"status\":\"%s\"}\n", sent,
              status.c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  if (o.attack == "prefix" || o.attack == "idle" || o.attack == "noread" || o.attack == "tiny")
    return peer_attack(o);
  if (o.attack == "flood" || o.attack == "http-idle" || o.attack == "http-bytes")
    return socket_attack(o);
  if (o.attack == "http-json")
    return json_bomb(o);
  usage("unknown attack " + o.attack);
}
