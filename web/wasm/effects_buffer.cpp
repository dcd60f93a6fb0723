#include "web/wasm/effects_buffer.hpp"

#include "protocols/common/table.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <string>

namespace peerlab::wasm {

namespace {

using nlohmann::json;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v));
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
}

void put_header(std::vector<std::uint8_t>& out, std::uint32_t status, std::uint64_t command_id,
                std::size_t frames, std::size_t timers, std::size_t json_bytes,
                std::size_t error_bytes) {
  out.clear();
  put_u32(out, effects_version);
  put_u32(out, status);
  put_u64(out, command_id);
  put_u32(out, static_cast<std::uint32_t>(frames));
  put_u32(out, static_cast<std::uint32_t>(timers));
  put_u32(out, static_cast<std::uint32_t>(json_bytes));
  put_u32(out, static_cast<std::uint32_t>(error_bytes));
}

// Numbers JS reads exactly stay numbers; larger 64-bit integers become text.
json cell_json(const cell& c) {
  if (auto* i = std::get_if<std::int64_t>(&c))
    return std::llabs(*i) <= (std::int64_t{1} << 53) ? json(*i) : json(std::to_string(*i));
  if (auto* d = std::get_if<double>(&c))
    return std::isfinite(*d) ? json(*d) : json(nullptr);
  if (auto* s = std::get_if<std::string>(&c))
    return *s;
  return to_hex(std::get<bytes>(c)); // blobs as hex
}

json event_object(const event& e) {
  json fields = json::object(), values = json::object();
  for (auto& [k, v] : e.fields)
    fields[k] = v;
  for (auto& [k, v] : e.values)
    values[k] = std::isfinite(v) ? json(v) : json(nullptr);
  json j = {{"event", e.kind},
            {"command_id", std::to_string(e.command_id)},
            {"fields", std::move(fields)},
            {"values", std::move(values)}};
  if (e.rows_schema && !e.rows.empty()) {
    json rows = json::array();
    for (auto& r : e.rows) {
      json o = json::object();
      for (std::size_t i = 0; i < r.cells.size() && i < e.rows_schema->columns.size(); ++i)
        o[e.rows_schema->columns[i].name] = cell_json(r.cells[i]);
      rows.push_back(std::move(o));
    }
    j["rows"] = std::move(rows);
  }
  return j;
}

// Field texts may hold any bytes (peers' error texts): invalid UTF-8 is replaced.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

} // namespace

std::string event_json(const event& e) { return dump(event_object(e)); }

void encode_effects(const effects& fx, std::uint64_t command_id, const effects_options& opt,
                    std::vector<std::uint8_t>& out) {
  std::string text;
  bool metrics = opt.metrics && !fx.metrics.empty();
  if (!fx.events.empty() || metrics || !fx.addresses.empty()) {
    json j = json::object();
    if (!fx.events.empty()) {
      json events = json::array();
      for (auto& e : fx.events)
        events.push_back(event_object(e));
      j["events"] = std::move(events);
    }
    if (metrics) {
      json m = json::array();
      for (auto& s : fx.metrics)
        m.push_back({{"name", s.name},
                     {"value", std::isfinite(s.value) ? json(s.value) : json(nullptr)},
                     {"counter", s.is_counter}});
      j["metrics"] = std::move(m);
    }
    if (!fx.addresses.empty()) {
      json a = json::array();
      for (auto& [peer, addr] : fx.addresses)
        a.push_back({{"peer", std::to_string(peer)}, {"address", addr}});
      j["addresses"] = std::move(a);
    }
    text = dump(j);
  }
  put_header(out, 0, command_id, fx.frames.size(), fx.timers.size(), text.size(), 0);
  for (auto& f : fx.frames) {
    put_u64(out, f.to);
    put_u32(out, static_cast<std::uint32_t>(f.data.size()));
    out.insert(out.end(), f.data.begin(), f.data.end());
  }
  for (auto& t : fx.timers) {
    put_u64(out, static_cast<std::uint64_t>(t.delay));
    put_u64(out, t.token);
  }
  out.insert(out.end(), text.begin(), text.end());
}

void encode_result(std::string_view json_text, std::vector<std::uint8_t>& out) {
  put_header(out, 0, 0, 0, 0, json_text.size(), 0);
  out.insert(out.end(), json_text.begin(), json_text.end());
}

void encode_error(std::string_view error, std::vector<std::uint8_t>& out) {
  put_header(out, 1, 0, 0, 0, 0, error.size());
  out.insert(out.end(), error.begin(), error.end());
}

} // namespace peerlab::wasm
