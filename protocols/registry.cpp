#include "protocols/registry.hpp"

#include "protocols/cdn/cdn.hpp"
#include "protocols/client/client.hpp"
#include "protocols/common/invariant.hpp"
#include "protocols/droplog/drop_role.hpp"
#include "protocols/fileset/fileset.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/gossip/gossip.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"
#include "protocols/proxy/proxy.hpp"
#include "protocols/traffic/traffic.hpp"

#include <map>
#include <set>

namespace peerlab {

namespace {

// Every module, one line each: adding a protocol means adding its line here.
std::vector<const module*> all_modules() {
  return {
    &filexfer::module(), &ledger::module(),  &market::module(),  &kad::module(),
    &gossip::module(),   &fileset::module(), &droplog::module(), &client::module(),
    &traffic::module(),  &proxy::module(),   &cdn::module(),
  };
}

std::vector<const module*> checked(std::vector<const module*> all) {
  std::set<port_t> ports_seen{ports::test_echo};
  std::set<std::string> roles_seen, tables_seen;
  for (auto* m : all) {
    for (auto& p : m->ports)
      PEERLAB_INVARIANT(ports_seen.insert(p.port).second, "two modules use one port");
    for (auto& r : m->roles)
      PEERLAB_INVARIANT(roles_seen.insert(r.name).second, "two modules name a role alike");
    for (auto* t : m->tables)
      PEERLAB_INVARIANT(tables_seen.insert(t->name).second, "two modules declare one table");
  }
  return all;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

} // namespace

const std::vector<const module*>& modules() {
  static const std::vector<const module*> all = checked(all_modules());
  return all;
}

const role_entry* find_role(std::string_view name) {
  for (auto* m : modules())
    for (auto& r : m->roles)
      if (r.name == name)
        return &r;
  return nullptr;
}

std::vector<std::string> known_roles() {
  std::vector<std::string> out;
  for (auto* m : modules())
    for (auto& r : m->roles)
      out.push_back(r.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> known_adversaries() {
  std::set<std::string> names;
  for (auto* m : modules())
    for (auto& r : m->roles)
      names.insert(r.adversaries.begin(), r.adversaries.end());
  return {names.begin(), names.end()};
}

const char* port_name(port_t p) {
  if (p == ports::test_echo)
    return "test_echo";
  for (auto* m : modules())
    for (auto& e : m->ports)
      if (e.port == p)
        return e.name.c_str();
  return "unknown";
}

std::vector<std::shared_ptr<role>> make_roles(const nlohmann::json& spec, const std::string& path,
                                              const std::string& adversary) {
  cfg::require_array(spec, path);
  if (spec.empty())
    cfg::fail(path, "at least one role", spec);
  std::vector<std::shared_ptr<role>> out;
  std::set<port_t> used;
  bool adversary_taken = adversary.empty();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    auto p = cfg::index(path, i);
    const nlohmann::json& item = spec[i];
    std::string name;
    nlohmann::json params = nlohmann::json::object();
    if (item.is_string()) {
      name = item.get<std::string>();
    } else if (item.is_object() && cfg::member(item, "role")) {
      name = cfg::get_string(item["role"], cfg::child(p, "role"));
      params = item;
    } else {
      cfg::fail(p, "a role name or an object with \"role\"", item);
    }
    auto* entry = find_role(name);
    if (!entry)
      cfg::fail(p, "one of the roles " + joined(known_roles()), item);
    bool mine = std::find(entry->adversaries.begin(), entry->adversaries.end(), adversary) !=
                entry->adversaries.end();
    adversary_taken = adversary_taken || mine;
    auto r = entry->make(params, p, mine ? adversary : std::string());
    if (!used.insert(r->port()).second)
      cfg::fail_msg(p, "two roles of one node use the same port (" +
                         std::string(port_name(r->port())) + ")");
    names.push_back(name);
    out.push_back(std::move(r));
  }
  if (!adversary_taken) {
    std::vector<std::string> able;
    for (auto* m : modules())
      for (auto& r : m->roles)
        if (std::find(r.adversaries.begin(), r.adversaries.end(), adversary) != r.adversaries.end())
          able.push_back(r.name);
    cfg::fail_msg(path,
                  "no role of this node (" + joined(names) + ") implements adversary \"" +
                    adversary + "\"" +
                    (able.empty() ? " (known adversaries: " + joined(known_adversaries()) + ")"
                                  : " (roles that do: " + joined(able) + ")"));
  }
  return out;
}

} // namespace peerlab
