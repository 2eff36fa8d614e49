#include "arch/common/reference_ops.h"

#include <cmath>
#include <stdexcept>

#include "arch/common/vector_clones.h"

namespace codesim::arch {

namespace {

int64_t out_dim(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                int64_t dilation) {
  const int64_t span = in + pad_begin + pad_end - (dilation * (kernel - 1) + 1);
  return span < 0 ? 0 : span / stride + 1;
}

// One loop nest for both number kinds: `Sum` accumulates a product (and |product| for fp).
template <class T, class Sum>
CODESIM_ALWAYS_INLINE void gemm_loop(const std::vector<T>& a, const std::vector<T>& b,
                                     const GemmShape& s, Sum&& sum) {
  if (static_cast<int64_t>(a.size()) != s.batch * s.m * s.k ||
      static_cast<int64_t>(b.size()) != (s.b_batched ? s.batch : 1) * s.k * s.n)
    throw std::invalid_argument("reference_gemm: operand sizes do not match the shape");
  // i-k-j order: the inner loop walks rows of B and of the output contiguously.
  for (int64_t bi = 0; bi < s.batch; ++bi) {
    const T* ab = a.data() + bi * s.m * s.k;
    const T* bb = b.data() + (s.b_batched ? bi * s.k * s.n : 0);
    for (int64_t m = 0; m < s.m; ++m) {
      const int64_t out = (bi * s.m + m) * s.n;
      for (int64_t k = 0; k < s.k; ++k) {
        const T x = ab[m * s.k + k];
        const T* row = bb + k * s.n;
        for (int64_t n = 0; n < s.n; ++n) sum(out + n, x, row[n]);
      }
    }
  }
}

template <class T, class Sum>
CODESIM_ALWAYS_INLINE void conv_loop(const std::vector<T>& x, const std::vector<T>& w,
                                     const Conv2dShape& s, Sum&& sum) {
  const int64_t g = s.groups < 1 ? 1 : s.groups;
  const int64_t cg = s.c / g, fg = s.filters / g;
  if (static_cast<int64_t>(x.size()) != s.batch * s.c * s.h * s.w ||
      static_cast<int64_t>(w.size()) != s.filters * cg * s.kernel_h * s.kernel_w)
    throw std::invalid_argument("reference_conv2d: operand sizes do not match the shape");
  const int64_t oh_n = s.out_h(), ow_n = s.out_w();
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t f = 0; f < s.filters; ++f) {
      const int64_t c0 = (f / fg) * cg;
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          const int64_t out = ((n * s.filters + f) * oh_n + oh) * ow_n + ow;
          for (int64_t cl = 0; cl < cg; ++cl)
            for (int64_t i = 0; i < s.kernel_h; ++i) {
              const int64_t ih = oh * s.stride_h - s.pad_top + i * s.dilation_h;
              if (ih < 0 || ih >= s.h) continue;
              for (int64_t j = 0; j < s.kernel_w; ++j) {
                const int64_t iw = ow * s.stride_w - s.pad_left + j * s.dilation_w;
                if (iw < 0 || iw >= s.w) continue;
                sum(out, x[((n * s.c + c0 + cl) * s.h + ih) * s.w + iw],
                    w[((f * cg + cl) * s.kernel_h + i) * s.kernel_w + j]);
              }
            }
        }
    }
}

}  // namespace

int64_t Conv2dShape::out_h() const {
  return out_dim(h, kernel_h, stride_h, pad_top, pad_bottom, dilation_h < 1 ? 1 : dilation_h);
}
int64_t Conv2dShape::out_w() const {
  return out_dim(w, kernel_w, stride_w, pad_left, pad_right, dilation_w < 1 ? 1 : dilation_w);
}

int64_t wrap_to_bits(int64_t v, int bits) {
  if (bits >= 64) return v;
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  const uint64_t u = static_cast<uint64_t>(v) & mask;
  const uint64_t sign = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((u ^ sign) - sign);
}

CODESIM_VECTOR_CLONES
std::vector<int64_t> reference_gemm(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                                    const GemmShape& s, int acc_bits) {
  std::vector<int64_t> out(s.batch * s.m * s.n, 0);
  gemm_loop(a, b, s, [&](int64_t o, int32_t x, int32_t y) {
    out[o] += static_cast<int64_t>(x) * static_cast<int64_t>(y);
  });
  for (auto& v : out) v = wrap_to_bits(v, acc_bits);
  return out;
}

CODESIM_VECTOR_CLONES
std::vector<int64_t> reference_conv2d(const std::vector<int32_t>& x, const std::vector<int32_t>& w,
                                      const Conv2dShape& s, int acc_bits) {
  std::vector<int64_t> out(s.batch * s.filters * s.out_h() * s.out_w(), 0);
  conv_loop(x, w, s, [&](int64_t o, int32_t p, int32_t q) {
    out[o] += static_cast<int64_t>(p) * static_cast<int64_t>(q);
  });
  for (auto& v : out) v = wrap_to_bits(v, acc_bits);
  return out;
}

CODESIM_VECTOR_CLONES
FpReference reference_gemm(const std::vector<float>& a, const std::vector<float>& b,
                           const GemmShape& s) {
  FpReference r;
  r.value.assign(s.batch * s.m * s.n, 0.0);
  r.abs_sum.assign(r.value.size(), 0.0);
  gemm_loop(a, b, s, [&](int64_t o, float x, float y) {
    const double p = static_cast<double>(x) * static_cast<double>(y);
    r.value[o] += p;
    r.abs_sum[o] += std::fabs(p);
  });
  return r;
}

CODESIM_VECTOR_CLONES
FpReference reference_conv2d(const std::vector<float>& x, const std::vector<float>& w,
                             const Conv2dShape& s) {
  FpReference r;
  r.value.assign(s.batch * s.filters * s.out_h() * s.out_w(), 0.0);
  r.abs_sum.assign(r.value.size(), 0.0);
  conv_loop(x, w, s, [&](int64_t o, float p, float q) {
    const double v = static_cast<double>(p) * static_cast<double>(q);
    r.value[o] += v;
    r.abs_sum[o] += std::fabs(v);
  });
  return r;
}

int64_t count_mismatches(const std::vector<int64_t>& got, const std::vector<int64_t>& want) {
  if (got.size() != want.size())
    throw std::invalid_argument("count_mismatches: outputs of different sizes");
  int64_t n = 0;
  for (size_t i = 0; i < got.size(); ++i) n += got[i] != want[i];
  return n;
}

double fp32_dot_tolerance(int64_t terms, double abs_sum) {
  const double u = std::ldexp(1.0, -24);
  const double nu = static_cast<double>(terms + 1) * u;
  return nu / (1.0 - nu) * abs_sum;
}

int64_t count_mismatches(const std::vector<float>& got, const FpReference& want, int64_t terms) {
  if (got.size() != want.value.size())
    throw std::invalid_argument("count_mismatches: outputs of different sizes");
  int64_t n = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - want.value[i]);
    // A NaN difference fails the comparison as well.
    n += !(diff <= fp32_dot_tolerance(terms, want.abs_sum[i]));
  }
  return n;
}

}  // namespace codesim::arch
