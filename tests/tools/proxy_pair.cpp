// A provider's forward proxy and a client's local proxy chained on 127.0.0.1,
// for tests/scripts/live_proxy_curl.sh (curl -x against the real classes).
// The leg between them is mutual TLS as between live nodes: the provider has
// a throw-away identity, the client node's key is CLIENT_KEY_FILE (created if
// missing, so the script can give curl a certificate of the same key), and
// the token is issued to that key's peer id.
// Usage: proxy_pair TOKEN [LIFETIME_SECONDS [CLIENT_KEY_FILE]]
// Prints {"local": ADDR, "provider": ADDR} on a line, then reads commands on
// stdin, one a line: "totals" prints the byte totals of both proxies as JSON,
// "terminate" cuts the client off at the provider. Ends at stdin's end or
// after LIFETIME_SECONDS (default 120), whichever comes first.
#include "net/forward_proxy.hpp"
#include "net/identity.hpp"
#include "net/local_proxy.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

using namespace peerlab;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: proxy_pair TOKEN [LIFETIME_SECONDS]\n");
    return 2;
  }
  std::string token = argv[1];
  int lifetime = argc > 2 ? std::atoi(argv[2]) : 120;
  auto client_identity =
    argc > 3 ? net::node_identity::load_or_create(argv[3]) : net::node_identity::ephemeral();
  auto provider_identity = net::node_identity::ephemeral();
  auto client_peer = client_identity->id();
  std::thread([lifetime] {
    std::this_thread::sleep_for(std::chrono::seconds(lifetime));
    std::fprintf(stderr, "proxy_pair: lifetime over\n");
    std::_Exit(0);
  }).detach();

  net::forward_proxy_options fo;
  fo.allow_internal_destinations = true; // the test's origins are on 127.0.0.1
  fo.identity = provider_identity;
  net::forward_proxy provider(
    fo, {[token, client_peer](const std::string& t) {
           return t == token ? net::proxy_authorization{net::proxy_authorization::verdict::allowed,
                                                        "client", client_peer}
                             : net::proxy_authorization{};
         },
         {},
         {},
         {}});
  net::local_proxy_options lo;
  lo.identity = client_identity;
  net::local_proxy local(lo, {{},
                              [](const std::string& id, unsigned status, const std::string& why) {
                                std::fprintf(stderr, "upstream %s failed: %u %s\n", id.c_str(),
                                             status, why.c_str());
                              },
                              {}});
  provider.start();
  local.start();
  local.set_upstream({"provider", provider.address(), token, provider_identity->id()});
  std::cout << "{\"local\": \"" << local.address() << "\", \"provider\": \"" << provider.address()
            << "\"}" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "totals") {
      auto l = local.totals("provider");
      auto p = provider.totals("client");
      std::cout << "{\"local_up\": " << l.up << ", \"local_down\": " << l.down
                << ", \"provider_up\": " << p.up << ", \"provider_down\": " << p.down << "}"
                << std::endl;
    } else if (line == "terminate") {
      provider.terminate("client");
      std::cout << "{\"terminated\": true}" << std::endl;
    } else if (!line.empty()) {
      std::cout << "{\"error\": \"unknown command\"}" << std::endl;
    }
  }
  return 0;
}
