// Peer identity over TLS 1.3: every node has an Ed25519 key in its data dir,
// its peer id is derived from the public key, and a hello that claims another
// id than the key proves is refused. Impostors, plain-TCP peers and peers
// without a certificate are tried against a live node on loopback.
#include <utility> // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include "net/address.hpp"
#include "net/disk_content.hpp"
#include "net/framing.hpp"
#include "net/handshake.hpp"
#include "net/identity.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"

#include "echo_role.hpp"
#include "protocols/common/text.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sys/stat.h>

using namespace peerlab;
namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// What a node saw: peers that completed a hello, pongs, log lines.
struct seen {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<peer_id> peers;
  std::vector<std::string> pongs_from;
  std::vector<std::string> logs;

  template <class F>
  bool wait(F ok) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), ok);
  }
  bool logged(const std::string& part) {
    return wait([&] {
      for (auto& l : logs)
        if (l.find(part) != std::string::npos)
          return true;
      return false;
    });
  }
};

net::live_options tls_node(const std::string& name, const fs::path& dir, seen& s) {
  net::live_options o;
  o.name = name;
  fs::create_directories(dir);
  o.identity = net::node_identity::load_or_create(dir / "node.key");
  o.roles = {std::make_shared<test::echo_role>()};
  o.store = std::make_unique<net::sqlite_store>(dir / "node.db");
  o.content = std::make_unique<net::disk_content>(dir);
  o.on_peer = [&s](peer_id p, const std::string&) {
    std::lock_guard lock(s.mu);
    s.peers.push_back(p);
    s.cv.notify_all();
  };
  o.on_event = [&s](port_t, const event& e) {
    std::lock_guard lock(s.mu);
    if (e.kind == "pong")
      s.pongs_from.push_back(*e.field("from"));
    s.cv.notify_all();
  };
  o.on_log = [&s](const std::string& l) {
    std::lock_guard lock(s.mu);
    if (std::getenv("IDENTITY_TEST_LOG"))
      std::fprintf(stderr, "log: %s\n", l.c_str());
    s.logs.push_back(l);
    s.cv.notify_all();
  };
  return o;
}

tcp::endpoint endpoint_of(const std::string& address) {
  auto colon = address.rfind(':');
  return {asio::ip::make_address(address.substr(0, colon)),
          static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
}

// An attacker's TLS client with a key of its own: it completes the handshake
// and then says whatever hello it likes. Reads until the node hangs up.
class tls_client {
public:
  explicit tls_client(const std::string& address, std::shared_ptr<const net::node_identity> id =
                                                    net::node_identity::ephemeral())
      : ctx_(context_for(id.get())), stream_(io_, ctx_) {
    stream_.lowest_layer().connect(endpoint_of(address));
    stream_.handshake(ssl::stream_base::client, handshake_error);
  }
  boost::system::error_code handshake_error;

  void send_hello(peer_id claimed) {
    auto h = net::encode_hello(net::hello{claimed, ""});
    auto header = net::frame_header(h.size());
    asio::write(stream_, asio::buffer(header));
    asio::write(stream_, asio::buffer(h));
  }
  /// True once the node closed the connection (whatever it sent first is read).
  bool closed_by_node() {
    std::array<std::uint8_t, 4096> buf{};
    boost::system::error_code ec;
    for (int i = 0; i < 100 && !ec; ++i)
      stream_.read_some(asio::buffer(buf), ec);
    return static_cast<bool>(ec);
  }

private:
  // The key goes on the context before the stream exists: SSL_new copies it.
  static ssl::context context_for(const net::node_identity* id) {
    ssl::context ctx(ssl::context::tls);
    if (id)
      id->configure(ctx.native_handle());
    else // no certificate of its own: the node must refuse the handshake
      SSL_CTX_set_verify(ctx.native_handle(), SSL_VERIFY_NONE, nullptr);
    return ctx;
  }

  asio::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
};

void write_file(const fs::path& p, const std::string& text, mode_t mode) {
  std::ofstream(p) << text;
  ::chmod(p.c_str(), mode);
}

} // namespace

TEST_CASE("identity: the node key is created once with mode 0600 and gives the same id again",
          "[net][identity]") {
  test::temp_dir dir("identity-key");
  auto file = dir.path() / "node.key";
  auto first = net::node_identity::load_or_create(file);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(net::node_identity::load_or_create(file)->id() == first->id());
  CHECK_FALSE(fs::exists(dir.path() / "node.key.new"));
  CHECK(net::node_identity::ephemeral()->id() != first->id());
}

TEST_CASE("identity: unusable key files are refused with what is wrong, and never rewritten",
          "[net][identity]") {
  test::temp_dir dir("identity-bad");
  auto file = dir.path() / "node.key";
  net::node_identity::load_or_create(file);
  std::string pem;
  {
    std::ifstream in(file);
    pem.assign(std::istreambuf_iterator<char>(in), {});
  }
  SECTION("readable by others") {
    ::chmod(file.c_str(), 0644);
    CHECK_THROWS_WITH(net::node_identity::load_or_create(file),
                      Catch::Contains("mode 0644 lets others read or change it"));
  }
  SECTION("not a key") {
    write_file(file, "hello\n", 0600);
    CHECK_THROWS_WITH(net::node_identity::load_or_create(file),
                      Catch::Contains("not a PEM private key"));
  }
  SECTION("another key type") {
    EVP_PKEY* ec = EVP_EC_gen("P-256");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    write_file(file, std::string(data, static_cast<std::size_t>(n)), 0600);
    BIO_free(bio);
    EVP_PKEY_free(ec);
    CHECK_THROWS_WITH(net::node_identity::load_or_create(file),
                      Catch::Contains("not an Ed25519 key"));
  }
  SECTION("a symbolic link") {
    auto real = dir.path() / "elsewhere.key";
    fs::rename(file, real);
    fs::create_symlink(real, file);
    CHECK_THROWS_WITH(net::node_identity::load_or_create(file), Catch::Contains("cannot open"));
    CHECK(fs::is_symlink(file)); // left as it was, not replaced by a new key
  }
}

TEST_CASE("identity: two nodes prove their ids over TLS and exchange frames", "[net][identity]") {
  test::temp_dir dir("identity-pair");
  seen sa, sb;
  net::live_runtime b(tls_node("bob", dir.path() / "b", sb));
  b.start();
  auto oa = tls_node("alice", dir.path() / "a", sa);
  oa.peers = {b.listen_address()};
  net::live_runtime a(std::move(oa));
  a.start();
  // The ids come from the keys, not from the names.
  CHECK(b.id() == net::node_identity::load_or_create(dir.path() / "b" / "node.key")->id());
  CHECK(b.id() != net::peer_id_from_name("bob"));
  REQUIRE(sa.wait([&] { return !sa.peers.empty(); }));
  CHECK(sa.peers.front() == b.id());
  REQUIRE(sb.wait([&] { return !sb.peers.empty(); }));
  CHECK(sb.peers.front() == a.id());
  REQUIRE(
    a.command(ports::test_echo, text_command_of(1, "ping", {std::to_string(b.id()), "over tls"})));
  REQUIRE(sa.wait([&] { return !sa.pongs_from.empty(); }));
  CHECK(sa.pongs_from.front() == std::to_string(b.id()));
  a.stop();
  b.stop();
}

TEST_CASE("identity: a hello claiming another peer's id is refused", "[net][identity]") {
  test::temp_dir dir("identity-impostor");
  seen sa, sb;
  net::live_runtime b(tls_node("bob", dir.path() / "b", sb));
  b.start();
  net::live_runtime a(tls_node("alice", dir.path() / "a", sa));
  a.start();

  tls_client mallory(b.listen_address());
  REQUIRE_FALSE(mallory.handshake_error);
  mallory.send_hello(a.id()); // claims to be alice
  CHECK(mallory.closed_by_node());
  CHECK(sb.logged("hello claims peer " + std::to_string(a.id()) + " but its TLS key proves peer"));
  {
    std::lock_guard lock(sb.mu);
    CHECK(std::find(sb.peers.begin(), sb.peers.end(), a.id()) == sb.peers.end());
  }
  // The real alice still gets through.
  a.learn_address(b.id(), b.listen_address());
  REQUIRE(a.command(ports::test_echo, text_command_of(2, "ping", {std::to_string(b.id()), "me"})));
  REQUIRE(sa.wait([&] { return !sa.pongs_from.empty(); }));
  a.stop();
  b.stop();
}

TEST_CASE("identity: a peer without a certificate or without TLS never says hello",
          "[net][identity]") {
  test::temp_dir dir("identity-nocert");
  seen sb;
  net::live_runtime b(tls_node("bob", dir.path() / "b", sb));
  b.start();
  SECTION("TLS without a certificate") {
    tls_client anonymous(b.listen_address(), nullptr);
    // TLS 1.3 may report the refusal only on the first read.
    CHECK((anonymous.handshake_error || anonymous.closed_by_node()));
    CHECK(sb.logged("TLS handshake failed"));
  }
  SECTION("plain TCP with a hello") {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(endpoint_of(b.listen_address()));
    auto h = net::encode_hello(net::hello{net::peer_id_from_name("x"), ""});
    auto header = net::frame_header(h.size());
    asio::write(s, asio::buffer(header));
    asio::write(s, asio::buffer(h));
    std::array<std::uint8_t, 4096> buf{};
    boost::system::error_code ec;
    for (int i = 0; i < 100 && !ec; ++i)
      s.read_some(asio::buffer(buf), ec);
    CHECK(ec);
    CHECK(sb.logged("TLS handshake failed"));
  }
  {
    std::lock_guard lock(sb.mu);
    CHECK(sb.peers.empty());
  }
  b.stop();
}

TEST_CASE("identity: an address only claimed never displaces one proven by dialing it",
          "[net][identity]") {
  test::temp_dir dir("identity-address");
  seen sa, sb;
  net::live_runtime b(tls_node("bob", dir.path() / "b", sb));
  b.start();
  auto oa = tls_node("alice", dir.path() / "a", sa);
  oa.peers = {b.listen_address()};
  net::live_runtime a(std::move(oa));
  a.start();
  REQUIRE(sa.wait([&] { return !sa.peers.empty(); }));
  // A DHT answer (or any role) claims bob is elsewhere: alice keeps the
  // address where bob proved himself.
  a.learn_address(b.id(), "127.0.0.1:9");
  REQUIRE(
    a.command(ports::test_echo, text_command_of(3, "ping", {std::to_string(b.id()), "still"})));
  REQUIRE(sa.wait([&] { return !sa.pongs_from.empty(); }));
  a.stop();
  CHECK(a.counters()["net.addresses_kept_verified"] == 1);
  b.stop();
}
