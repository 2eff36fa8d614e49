#pragma once
// Operand values for functional runs: a tensor's own data, or, when the workload carries shapes
// only, reproducible pseudo-random values seeded by a name (the same tensor gets the same values
// in every run and in every model).

#include <cstdint>
#include <string>
#include <vector>

#include "workload.pb.h"

namespace codesim::arch {

// A 64-bit seed from a name (FNV-1a).
uint64_t seed_from(const std::string& name);
// The next value of a SplitMix64 sequence; advances `state`.
uint64_t next_random(uint64_t& state);
// A value in [-1, 1) from the next 24 random bits.
float next_unit(uint64_t& state);
// `n` float operands: the tensor's float data, else its integer codes as floats, else values in
// [-1, 1) seeded by `seed`. `t` may be null (no tensor: seeded values).
std::vector<float> float_operands(const ir::v1::Tensor* t, int64_t n, const std::string& seed);

}  // namespace codesim::arch
