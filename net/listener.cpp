#include "net/listener.hpp"

#include "net/address.hpp"

#include <stdexcept>

namespace peerlab::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string open_listener(asio::io_context& ioc, std::optional<tcp::acceptor>& acceptor,
                          const std::string& listen, const std::string& what) {
  std::string err;
  auto a = parse_address(listen, err);
  if (!a)
    throw std::runtime_error(what + " address \"" + listen + "\": " + err);
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(a->host, ec);
  if (ec)
    throw std::runtime_error(what + " address \"" + listen + "\": " + ec.message());
  tcp::endpoint ep(ip, a->port);
  acceptor.emplace(ioc);
  acceptor->open(ep.protocol(), ec);
  if (!ec)
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor->bind(ep, ec);
  if (!ec)
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(what + ": cannot listen on " + listen + ": " + ec.message());
  auto local = acceptor->local_endpoint();
  return to_string(address{local.address().to_string(), local.port()});
}

} // namespace peerlab::net
