#pragma once
// IEEE binary16 rounding for operands held in float. Products of two binary16 values are exact in
// binary32 (11 + 11 significant bits <= 24), so an array of fp16 multipliers feeding fp32
// accumulators is modelled exactly by rounding the operands once and computing in float.

#include <cmath>

namespace codesim::arch {

// Largest finite binary16 value; larger magnitudes saturate here rather than becoming infinite,
// so that a functional run never turns out-of-range data into NaN.
constexpr float kFp16Max = 65504.0f;

// Rounds to the nearest binary16 value (ties to even), subnormals included.
inline float round_to_fp16(float x) {
  if (std::isnan(x)) return x;
  const float a = std::fabs(x);
  if (a >= kFp16Max) return std::copysign(kFp16Max, x);
  // Below 2^-14 binary16 is subnormal with a fixed step of 2^-24; above, 11 significant bits.
  int exp = 0;
  std::frexp(a, &exp);
  const float step = a < 6.103515625e-05f ? 5.9604644775390625e-08f : std::ldexp(1.0f, exp - 11);
  const float q = std::nearbyint(a / step) * step;  // the default rounding mode: ties to even
  return std::copysign(q > kFp16Max ? kFp16Max : q, x);
}

}  // namespace codesim::arch
