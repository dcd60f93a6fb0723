#include "protocols/cdn/signal_msg.hpp"

#include "protocols/cdn/cdn.hpp"
#include "protocols/common/json_depth.hpp"
#include "protocols/common/text.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>

namespace peerlab::cdn {

namespace {

using nlohmann::json;

constexpr std::array<const char*, 13> names = {
  "join",    "want",   "signal",    "linked", "unpair", "ping",  "leave",
  "welcome", "paired", "peer_left", "pong",   "bye",    "error",
};

std::string id_text(peer_id p) { return std::to_string(p); }

// A peer id: a decimal string (or a non-negative integer below 2^53).
bool get_id(const json& v, peer_id& out) {
  if (v.is_string()) {
    auto p = parse_u64(v.get<std::string>());
    if (!p)
      return false;
    out = *p;
    return true;
  }
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return out < (1ull << 53);
  }
  return false;
}

} // namespace

const char* msg_name(msg m) { return names[static_cast<std::size_t>(m)]; }

std::string to_json(const signal_msg& m) {
  json j;
  j["type"] = msg_name(m.type);
  switch (m.type) {
  case msg::join:
    if (!m.interests.empty())
      j["interests"] = m.interests;
    if (m.lat && m.lon) {
      j["lat"] = *m.lat;
      j["lon"] = *m.lon;
    }
    if (m.asn)
      j["asn"] = m.asn;
    j["want"] = m.count;
    j["link"] = m.link;
    if (!m.peers.empty()) {
      auto& a = j["peers"] = json::array();
      for (auto p : m.peers)
        a.push_back(id_text(p));
    }
    break;
  case msg::want:
    j["count"] = m.count;
    break;
  case msg::signal: {
    j["peer"] = id_text(m.peer);
    auto v = json::parse(m.data, nullptr, false);
    j["data"] = v.is_discarded() ? json(m.data) : v;
    break;
  }
  case msg::linked:
  case msg::peer_left:
    j["peer"] = id_text(m.peer);
    break;
  case msg::unpair:
    j["peer"] = id_text(m.peer);
    if (m.block)
      j["block"] = true;
    break;
  case msg::welcome:
    j["peer"] = id_text(m.peer);
    break;
  case msg::paired:
    j["peer"] = id_text(m.peer);
    j["initiator"] = m.initiator;
    if (!m.address.empty())
      j["address"] = m.address;
    break;
  case msg::bye:
  case msg::error:
    j["reason"] = m.reason;
    break;
  case msg::ping:
  case msg::pong:
  case msg::leave:
    break;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bytes encode_signal(port_t to, const signal_msg& m) {
  auto text = to_json(m);
  bytes out;
  out.reserve(text.size() + 1);
  out.push_back(to);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

std::optional<signal_msg> parse_signal(std::string_view text, std::string& err) {
  auto fail = [&](std::string why) -> std::optional<signal_msg> {
    err = std::move(why);
    return std::nullopt;
  };
  if (text.size() > bounds::signal_message_max)
    return fail("message of " + std::to_string(text.size()) + " bytes (at most " +
                std::to_string(bounds::signal_message_max) + ")");
  if (json_depth(text, 8) > 8)
    return fail("JSON nested deeper than 8");
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("not a JSON object");
  auto t = j.find("type");
  if (t == j.end() || !t->is_string())
    return fail("missing \"type\"");
  signal_msg m;
  auto type = t->get<std::string>();
  std::size_t i = 0;
  while (i < names.size() && type != names[i])
    ++i;
  if (i == names.size())
    return fail("unknown type \"" + quote_arg(type, 40) + "\"");
  m.type = static_cast<msg>(i);

  auto peer = [&](bool required) {
    auto p = j.find("peer");
    if (p == j.end())
      return !required;
    return get_id(*p, m.peer);
  };
  auto count = [&](const char* key, std::uint32_t max) {
    auto c = j.find(key);
    if (c == j.end())
      return true;
    if (!c->is_number_unsigned() || c->get<std::uint64_t>() > max)
      return false;
    m.count = static_cast<std::uint32_t>(c->get<std::uint64_t>());
    return true;
  };
  switch (m.type) {
  case msg::join: {
    if (auto a = j.find("interests"); a != j.end()) {
      if (!a->is_array() || a->size() > bounds::interests_max)
        return fail("\"interests\" must be an array of at most " +
                    std::to_string(bounds::interests_max) + " URLs");
      for (auto& u : *a) {
        if (!u.is_string() || u.get<std::string>().empty() ||
            u.get<std::string>().size() > bounds::url_max)
          return fail("\"interests\" holds something other than a URL");
        m.interests.push_back(u.get<std::string>());
      }
    }
    auto la = j.find("lat"), lo = j.find("lon");
    if ((la == j.end()) != (lo == j.end()))
      return fail("\"lat\" and \"lon\" come together");
    if (la != j.end()) {
      if (!la->is_number() || !lo->is_number())
        return fail("\"lat\" and \"lon\" must be numbers");
      double a = la->get<double>(), b = lo->get<double>();
      if (!(a >= -90 && a <= 90) || !(b >= -180 && b <= 180))
        return fail("\"lat\" must be in [-90, 90] and \"lon\" in [-180, 180]");
      m.lat = a;
      m.lon = b;
    }
    if (auto a = j.find("asn"); a != j.end()) {
      if (!a->is_number_unsigned() || a->get<std::uint64_t>() > 0xffffffffull)
        return fail("\"asn\" must be an AS number");
      m.asn = static_cast<std::uint32_t>(a->get<std::uint64_t>());
    }
    if (!count("want", bounds::want_max))
      return fail("\"want\" must be 0.." + std::to_string(bounds::want_max));
    if (auto l = j.find("link"); l != j.end()) {
      if (!l->is_string() || (*l != "webrtc" && *l != "peerlab"))
        return fail("\"link\" must be \"webrtc\" or \"peerlab\"");
      m.link = l->get<std::string>();
    }
    if (auto a = j.find("peers"); a != j.end()) {
      if (!a->is_array() || a->size() > bounds::want_max * 4)
        return fail("\"peers\" must be an array of at most " +
                    std::to_string(bounds::want_max * 4) + " peer ids");
      for (auto& p : *a) {
        peer_id id = 0;
        if (!get_id(p, id))
          return fail("\"peers\" holds something other than a peer id");
        m.peers.push_back(id);
      }
    }
    break;
  }
  case msg::want:
    if (!count("count", bounds::want_max))
      return fail("\"count\" must be 0.." + std::to_string(bounds::want_max));
    break;
  case msg::signal: {
    if (!peer(true))
      return fail("signal needs \"peer\" (a decimal peer id)");
    auto d = j.find("data");
    if (d == j.end())
      return fail("signal needs \"data\"");
    m.data = d->dump();
    if (m.data.size() > bounds::signal_data_max)
      return fail("signal data of " + std::to_string(m.data.size()) + " bytes (at most " +
                  std::to_string(bounds::signal_data_max) + ")");
    break;
  }
  case msg::linked:
  case msg::peer_left:
  case msg::welcome:
    if (!peer(true))
      return fail(std::string(names[i]) + " needs \"peer\" (a decimal peer id)");
    break;
  case msg::unpair:
    if (!peer(true))
      return fail("unpair needs \"peer\" (a decimal peer id)");
    if (auto b = j.find("block"); b != j.end()) {
      if (!b->is_boolean())
        return fail("\"block\" must be true or false");
      m.block = b->get<bool>();
    }
    break;
  case msg::paired: {
    if (!peer(true))
      return fail("paired needs \"peer\" (a decimal peer id)");
    auto in = j.find("initiator");
    if (in == j.end() || !in->is_boolean())
      return fail("paired needs \"initiator\" (true or false)");
    m.initiator = in->get<bool>();
    if (auto a = j.find("address"); a != j.end()) {
      if (!a->is_string() || a->get<std::string>().size() > 64)
        return fail("\"address\" must be an \"ip:port\" text");
      m.address = a->get<std::string>();
    }
    break;
  }
  case msg::bye:
  case msg::error:
    if (auto r = j.find("reason"); r != j.end() && r->is_string())
      m.reason = printable(r->get<std::string>().substr(0, 200));
    break;
  case msg::ping:
  case msg::pong:
  case msg::leave:
    break;
  }
  return m;
}

} // namespace peerlab::cdn
