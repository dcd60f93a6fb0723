#pragma once
// A 4-ary min-heap: the simulator's event queue. With ~10^5 pending events
// a binary heap's pop walks ~17 levels, each a cache miss; four children per
// node halve the depth and keep siblings on adjacent cache lines.
#include <cstddef>
#include <utility>
#include <vector>

namespace peerlab::sim {

template <class T, class Less>
class quad_heap {
public:
  bool empty() const { return v_.empty(); }
  std::size_t size() const { return v_.size(); }
  const T& top() const { return v_.front(); }

  void push(const T& x) {
    v_.push_back(x);
    std::size_t i = v_.size() - 1;
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!less_(v_[i], v_[parent]))
        break;
      std::swap(v_[i], v_[parent]);
      i = parent;
    }
  }

  void pop() {
    v_.front() = v_.back();
    v_.pop_back();
    std::size_t n = v_.size(), i = 0;
    for (;;) {
      std::size_t first = 4 * i + 1;
      if (first >= n)
        break;
      std::size_t best = first;
      std::size_t last = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < last; ++c)
        if (less_(v_[c], v_[best]))
          best = c;
      if (!less_(v_[best], v_[i]))
        break;
      std::swap(v_[i], v_[best]);
      i = best;
    }
  }

private:
  std::vector<T> v_;
  Less less_;
};

} // namespace peerlab::sim
