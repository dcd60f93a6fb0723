// Exports for the browser CDN's page shim (web/cdn/cdn_client.js,
// docs/protocols/cdn.md "In browsers"), built only with the cdn protocol
// (scripts/build_wasm.sh adds web/wasm/<protocol>/ for each protocol it
// hosts). The shim keeps the client's verified resources in IndexedDB: it
// reads them from the role's LRU cache here, and after a reload hands them
// back as the typed cache_put command, which verifies them again (a disk is
// input too).
#include "web/wasm/role_host.hpp"

#include "protocols/cdn/client.hpp"
#include "protocols/cdn/commands.hpp"

#include <nlohmann/json.hpp>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define HOST_API EMSCRIPTEN_KEEPALIVE
#else
#define HOST_API
#endif

#include <cstring>

using namespace peerlab;

namespace {

std::size_t g_found_len = 0; // length of the bytes cdn_cache_find returned

const cdn::client* hosted_client() { return dynamic_cast<const cdn::client*>(wasm::hosted_role()); }

cdn::hash224 hash_at(const std::uint8_t* p) {
  cdn::hash224 h{};
  std::memcpy(h.data(), p, h.size());
  return h;
}

} // namespace

extern "C" {

/// The client's cache, most recently used first: result JSON
/// {"entries": [{"url", "sha224" (hex), "size"}]}.
HOST_API int cdn_cache_list() {
  auto* c = hosted_client();
  if (!c)
    return wasm::set_error("no cdn_client role hosted");
  auto list = nlohmann::json::array();
  for (auto& e : c->cache().entries())
    list.push_back({{"url", e.url}, {"sha224", cdn::hex(e.sha)}, {"size", e.data.size()}});
  return wasm::set_result(nlohmann::json{{"entries", list}}.dump(
    -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/// The cached bytes of `url` if the cache holds them under the 28-byte
/// SHA-224 `sha`, else nullptr; the length is cdn_cache_found_len(). Valid
/// until the next call that runs the role. Does not mark the entry used.
HOST_API const std::uint8_t* cdn_cache_find(const std::uint8_t* url, std::size_t url_len,
                                            const std::uint8_t* sha) {
  g_found_len = 0;
  auto* c = hosted_client();
  if (!c)
    return nullptr;
  std::string_view u(reinterpret_cast<const char*>(url), url_len);
  auto want = hash_at(sha);
  for (auto& e : c->cache().entries())
    if (e.url == u && e.sha == want) {
      g_found_len = e.data.size();
      return e.data.data();
    }
  return nullptr;
}
HOST_API std::size_t cdn_cache_found_len() { return g_found_len; }

/// The typed cache_put command: `len` bytes of `url` the host kept, under
/// the 28-byte SHA-224 `sha`. The role checks the hash (cached, or
/// command_failed 400) like any command; the effects come back as usual.
HOST_API int cdn_cache_put(double now_us, const std::uint8_t* url, std::size_t url_len,
                           const std::uint8_t* sha, const std::uint8_t* data, std::size_t len) {
  if (!hosted_client())
    return wasm::set_error("no cdn_client role hosted");
  cdn::cache_put put;
  put.url.assign(reinterpret_cast<const char*>(url), url_len);
  put.sha = hash_at(sha);
  put.data.assign(data, data + len);
  return wasm::run_typed_command(
    now_us, [&](std::uint64_t id) { return command(id, cdn::command{std::move(put)}); });
}

} // extern "C"
