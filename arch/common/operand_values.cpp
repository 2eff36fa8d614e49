#include "arch/common/operand_values.h"

namespace codesim::arch {

uint64_t seed_from(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  return h;
}

uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float next_unit(uint64_t& state) {
  return static_cast<float>(next_random(state) >> 40) / 8388608.0f - 1.0f;
}

std::vector<float> float_operands(const ir::v1::Tensor* t, int64_t n, const std::string& seed) {
  std::vector<float> v(static_cast<size_t>(n));
  if (t && t->float_data_size() == n) {
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = t->float_data(static_cast<int>(i));
  } else if (t && t->int_data_size() == n) {
    for (int64_t i = 0; i < n; ++i)
      v[static_cast<size_t>(i)] = static_cast<float>(t->int_data(static_cast<int>(i)));
  } else {
    uint64_t state = seed_from(seed);
    for (auto& x : v) x = next_unit(state);
  }
  return v;
}

}  // namespace codesim::arch
