#include "sim/file_placement.hpp"

#include "sim/seed_streams.hpp"

#include <algorithm>

namespace peerlab::sim {

void place_files(const scenario& s, std::uint64_t run_seed,
                 const std::vector<std::uint32_t>& group_first, file_catalog& catalog) {
  auto files = stream_rng(run_seed, seed_stream::files);
  for (std::uint32_t si = 0; si < s.file_sets.size(); ++si) {
    auto& fs = s.file_sets[si];
    std::vector<std::uint32_t> eligible;
    for (auto& gname : fs.providers) {
      auto g = static_cast<std::uint32_t>(s.find_group(gname) - s.groups.data());
      for (auto n = group_first[g]; n < group_first[g + 1]; ++n)
        eligible.push_back(n);
    }
    for (std::uint64_t i = 0; i < fs.count; ++i) {
      auto idx = catalog.add(fs.name + "-" + std::to_string(i) + ".bin", fs.size, fs.price,
                             files.next(), si);
      std::vector<std::uint32_t> holders = eligible;
      if (fs.replicas > 0 && fs.replicas < holders.size()) {
        // Partial Fisher-Yates: the first `replicas` entries are a random choice.
        for (std::size_t k = 0; k < fs.replicas; ++k)
          std::swap(holders[k], holders[k + files.below(holders.size() - k)]);
        holders.resize(fs.replicas);
        std::sort(holders.begin(), holders.end());
      }
      catalog.at(idx).holders = std::move(holders);
    }
  }
}

} // namespace peerlab::sim
