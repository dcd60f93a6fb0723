#include "protocols/droplog/erasure.hpp"

#include <isa-l/erasure_code.h>

#include <stdexcept>

namespace peerlab::droplog::erasure {

namespace {

/// Rows 0..max_symbols-1 of the systematic Cauchy matrix for k data symbols
/// (row-major, k columns; the first k rows are the identity).
std::vector<unsigned char> cauchy(std::uint32_t k) {
  std::vector<unsigned char> a(std::size_t{max_symbols} * k);
  gf_gen_cauchy1_matrix(a.data(), static_cast<int>(max_symbols), static_cast<int>(k));
  return a;
}

/// out[r] = sum_j rows[r][j] * src[j] over GF(2^8), for `n` rows of k coefficients.
void apply(std::uint32_t k, std::uint32_t n, unsigned char* rows, std::size_t len,
           std::vector<unsigned char*>& src, std::vector<bytes>& out) {
  std::vector<unsigned char> tables(std::size_t{32} * k * n);
  ec_init_tables(static_cast<int>(k), static_cast<int>(n), rows, tables.data());
  std::vector<unsigned char*> dst(n);
  out.assign(n, bytes(len));
  for (std::uint32_t i = 0; i < n; ++i)
    dst[i] = out[i].data();
  ec_encode_data(static_cast<int>(len), static_cast<int>(k), static_cast<int>(n), tables.data(),
                 src.data(), dst.data());
}

} // namespace

std::vector<bytes> encode(const std::vector<byte_view>& data, std::uint32_t first,
                          std::uint32_t count) {
  const auto k = static_cast<std::uint32_t>(data.size());
  if (k == 0 || first < k || first + count > max_symbols)
    throw std::invalid_argument("erasure::encode: symbol indices out of range");
  std::vector<bytes> out;
  if (count == 0)
    return out;
  const std::size_t len = data.front().size();
  std::vector<unsigned char*> src(k);
  for (std::uint32_t j = 0; j < k; ++j) {
    if (data[j].size() != len)
      throw std::invalid_argument("erasure::encode: data symbols differ in size");
    // ISA-L only reads the sources; its signature is not const-correct.
    src[j] = const_cast<unsigned char*>(data[j].data());
  }
  auto a = cauchy(k);
  apply(k, count, a.data() + std::size_t{first} * k, len, src, out);
  return out;
}

std::optional<std::vector<bytes>> decode(std::uint32_t k,
                                         const std::map<std::uint32_t, bytes>& symbols) {
  if (k == 0 || k > max_symbols || symbols.size() < k)
    return std::nullopt;
  const std::size_t len = symbols.begin()->second.size();
  // The first k symbols by index: data symbols first, so fewer rows to rebuild.
  std::vector<std::uint32_t> used;
  std::vector<unsigned char*> src;
  for (auto& [i, s] : symbols) {
    if (used.size() == k)
      break;
    if (i >= max_symbols || s.size() != len)
      return std::nullopt;
    used.push_back(i);
    src.push_back(const_cast<unsigned char*>(s.data()));
  }
  std::vector<bytes> data(k);
  std::vector<std::uint32_t> missing;
  for (std::uint32_t j = 0; j < k; ++j) {
    auto it = symbols.find(j);
    if (it != symbols.end())
      data[j] = it->second;
    else
      missing.push_back(j);
  }
  if (missing.empty())
    return data;
  auto a = cauchy(k);
  std::vector<unsigned char> sub(std::size_t{k} * k), inv(std::size_t{k} * k);
  for (std::uint32_t r = 0; r < k; ++r)
    for (std::uint32_t c = 0; c < k; ++c)
      sub[r * k + c] = a[std::size_t{used[r]} * k + c];
  if (gf_invert_matrix(sub.data(), inv.data(), static_cast<int>(k)) != 0)
    return std::nullopt; // cannot happen for distinct rows of a Cauchy matrix
  std::vector<unsigned char> rows(missing.size() * k);
  for (std::size_t r = 0; r < missing.size(); ++r)
    for (std::uint32_t c = 0; c < k; ++c)
      rows[r * k + c] = inv[std::size_t{missing[r]} * k + c];
  std::vector<bytes> rebuilt;
  apply(k, static_cast<std::uint32_t>(missing.size()), rows.data(), len, src, rebuilt);
  for (std::size_t r = 0; r < missing.size(); ++r)
    data[missing[r]] = std::move(rebuilt[r]);
  return data;
}

} // namespace peerlab::droplog::erasure
