#include "protocols/filexfer/filexfer.hpp"

#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/provider.hpp"

namespace peerlab::filexfer {

std::shared_ptr<role> make_provider(const provider_config& cfg) {
  return std::make_shared<provider>(cfg);
}

std::shared_ptr<role> make_downloader(const downloader_config& cfg) {
  return std::make_shared<downloader>(cfg);
}

std::optional<provider_strategy> strategy_from_name(std::string_view name) {
  if (name == "honest")
    return provider_strategy::honest;
  if (name == "corrupt_content")
    return provider_strategy::corrupt_content;
  if (name == "truncate_content")
    return provider_strategy::truncate_content;
  if (name == "silent")
    return provider_strategy::silent;
  return std::nullopt;
}

} // namespace peerlab::filexfer
