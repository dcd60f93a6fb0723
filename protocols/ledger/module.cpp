#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/ledger/tables.hpp"

namespace peerlab::ledger {

namespace {

using nlohmann::json;

std::shared_ptr<role> ledger_from_json(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(
    p, path,
    {"role", "block_interval", "confirmations", "supply", "max_block_txs", "replace_by_fee"});
  cfg::fields f(p, path);
  config c;
  f.duration("block_interval", c.block_interval);
  if (auto* v = cfg::member(p, "confirmations")) {
    auto n = cfg::get_positive(*v, cfg::child(path, "confirmations"));
    if (n > 1000)
      cfg::fail(cfg::child(path, "confirmations"), "at most 1000", *v);
    c.confirmations = static_cast<std::uint32_t>(n);
  }
  f.positive("supply", c.supply);
  f.positive("max_block_txs", c.max_block_txs);
  f.flag("replace_by_fee", c.replace_by_fee);
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role ledger: " + e);
  return make_ledger(c);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "ledger",
    "docs/protocols/market.md",
    {{ports::ledger, "ledger"}},
    {{"ledger", ledger_from_json, {}, R"({"role": "ledger"})"}},
    {&meta_table(), &accounts_table(), &txs_table()},
  };
  return m;
}

} // namespace peerlab::ledger
