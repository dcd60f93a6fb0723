#include "sim/scenario_sections.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/limits.hpp"
#include "sim/workload_driver.hpp"

namespace peerlab::sim::sections {

namespace c = peerlab::cfg;

namespace {

file_set_spec parse_file_set(const json& w, const std::string& p, const scenario& s) {
  c::only_keys(w, p, {"kind", "name", "count", "size", "providers", "replicas", "price"});
  file_set_spec fs;
  const auto& n = c::required(w, p, "name");
  fs.name = c::get_string(n, c::child(p, "name"));
  for (auto& other : s.file_sets)
    if (other.name == fs.name)
      c::fail_msg(c::child(p, "name"), "duplicate file set name \"" + fs.name + "\"");
  const auto& cnt = c::required(w, p, "count");
  fs.count = c::get_positive(cnt, c::child(p, "count"));
  if (fs.count > 1'000'000)
    c::fail(c::child(p, "count"), "at most 1000000 files", cnt);
  const auto& sz = c::required(w, p, "size");
  fs.size = c::get_size(sz, c::child(p, "size"));
  if (fs.size == 0 || fs.size > limits::file_bytes_max)
    c::fail(c::child(p, "size"), "a size between 1 B and 64GiB", sz);
  const auto& pr = c::required(w, p, "providers", "groups whose nodes hold the files");
  fs.providers = group_list(pr, c::child(p, "providers"), s);
  if (auto* r = c::member(w, "replicas"))
    fs.replicas = c::get_positive(*r, c::child(p, "replicas"));
  if (auto* pc = c::member(w, "price"))
    fs.price = c::get_count(*pc, c::child(p, "price"));
  return fs;
}

command_spec parse_command(const json& w, const std::string& p, const scenario& s) {
  c::only_keys(w, p, {"kind", "group", "at", "role", "verb", "args"});
  command_spec cs;
  auto* g = c::member(w, "group");
  auto* r = c::member(w, "role");
  auto* v = c::member(w, "verb");
  if (!g || !r || !v)
    c::fail_msg(p, "a command needs \"group\", \"role\" and \"verb\"");
  cs.group = group_ref(*g, c::child(p, "group"), s);
  cs.role = c::get_string(*r, c::child(p, "role"));
  cs.verb = c::get_string(*v, c::child(p, "verb"));
  if (auto* at = c::member(w, "at"))
    cs.at = c::get_duration(*at, c::child(p, "at"));
  if (auto* a = c::member(w, "args")) {
    c::require_array(*a, c::child(p, "args"));
    if (a->size() > limits::command_args_max)
      c::fail(c::child(p, "args"), "at most 64 arguments", *a);
    for (std::size_t j = 0; j < a->size(); ++j)
      cs.args.push_back(c::get_string((*a)[j], c::index(c::child(p, "args"), j)));
  }
  return cs;
}

} // namespace

void parse_workload(const json& wl, scenario& s) {
  c::require_array(wl, "workload");
  for (std::size_t i = 0; i < wl.size(); ++i) {
    auto p = c::index("workload", i);
    const json& w = wl[i];
    c::require_object(w, p);
    const auto& kind =
      c::required(w, p, "kind", "files, command, or a protocol workload such as downloads");
    auto k = c::get_string(kind, c::child(p, "kind"));
    if (k == "files") {
      s.file_sets.push_back(parse_file_set(w, p, s));
    } else if (k == "command") {
      s.commands.push_back(parse_command(w, p, s));
    } else if (auto d = driver_kinds().find(k); d != driver_kinds().end()) {
      d->second.validate(w, p, s);
      s.driver_items.push_back({k, w});
    } else {
      std::string list = "files, command";
      for (auto& [name, _] : driver_kinds())
        list += ", " + name;
      c::fail(c::child(p, "kind"), "one of " + list, kind);
    }
  }
}

} // namespace peerlab::sim::sections
