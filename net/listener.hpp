#pragma once
// Opening a TCP listener on a "host:port" string, shared by the local HTTP
// servers. Errors name the address and the server (`what`).
#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>

#include <optional>
#include <string>

namespace peerlab::net {

/// Creates `acceptor` on `ioc`, bound to `listen` and listening; returns the
/// bound "host:port" (the real port when `listen` asked for port 0).
/// Throws std::runtime_error naming `what` and the address.
std::string open_listener(boost::asio::io_context& ioc,
                          std::optional<boost::asio::ip::tcp::acceptor>& acceptor,
                          const std::string& listen, const std::string& what);

} // namespace peerlab::net
