// Structured transforms: torch_butterfly's butterfly product and the (zero-padded) FFT.
#include <algorithm>
#include <cmath>
#include <complex>

#include "compress/reference/kernels.h"

namespace codesim::compress::kernels {

namespace {

[[noreturn]] void fail(const std::string& message) { throw KernelError(message); }

using Complex = std::complex<double>;

// In-place radix-2 FFT of n = 2^k points spaced `stride` apart; the inverse is unscaled.
void fft_1d(Complex* v, int64_t n, int64_t stride, bool inverse) {
  for (int64_t i = 1, j = 0; i < n; ++i) {
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(v[i * stride], v[j * stride]);
  }
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t len = 2; len <= n; len <<= 1) {
    const double angle = sign * 2.0 * M_PI / static_cast<double>(len);
    for (int64_t start = 0; start < n; start += len) {
      for (int64_t k = 0; k < len / 2; ++k) {
        const Complex w = std::polar(1.0, angle * static_cast<double>(k));
        Complex& a = v[(start + k) * stride];
        Complex& b = v[(start + k + len / 2) * stride];
        const Complex t = w * b;
        b = a - t;
        a += t;
      }
    }
  }
}

bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace

Array butterfly(const Array& x, const Array& twiddles, const ir::v1::Butterfly& b,
                int64_t out_width) {
  const int64_t length = b.length(), stages = b.stages();
  const int64_t stacks = std::max<int64_t>(1, b.stacks());
  if (!is_pow2(length) || length < 2) fail("butterfly length must be a power of two >= 2");
  if (twiddles.size() != stacks * stages * length * 2)
    fail("twiddles " + shape_str(twiddles.shape) + " must be [stacks, stages, length/2, 2, 2] = " +
         shape_str({stacks, stages, length / 2, 2, 2}));
  const int64_t in = x.shape.empty() ? 1 : x.shape.back();
  if (in > length)
    fail("input width " + std::to_string(in) + " exceeds the butterfly length " +
         std::to_string(length));
  const int64_t width = out_width > 0 ? out_width : stacks * length;
  if (width > stacks * length)
    fail("output width " + std::to_string(width) +
         " exceeds stacks x length = " + std::to_string(stacks * length));
  const int64_t rows = in > 0 ? x.size() / in : 0;
  Array out{x.shape, std::vector<float>(static_cast<size_t>(rows * width))};
  if (out.shape.empty()) out.shape.push_back(1);
  out.shape.back() = width;
  std::vector<float> v(static_cast<size_t>(length));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < stacks && k * length < width; ++k) {
      std::fill(v.begin(), v.end(), 0.0f);
      std::copy(x.data.begin() + r * in, x.data.begin() + (r + 1) * in, v.begin());
      for (int64_t s = 0; s < stages; ++s) {
        // Stage s pairs i with i + 2^s; pair p = block * stride + offset uses twiddle p.
        const int64_t stride = int64_t{1} << s;
        const float* t = twiddles.data.data() + (k * stages + s) * (length / 2) * 4;
        for (int64_t block = 0; block < length / (2 * stride); ++block) {
          for (int64_t off = 0; off < stride; ++off) {
            const int64_t i = block * 2 * stride + off;
            const float* m = t + (block * stride + off) * 4;
            const float lo = v[i], hi = v[i + stride];
            v[i] = m[0] * lo + m[1] * hi;
            v[i + stride] = m[2] * lo + m[3] * hi;
          }
        }
      }
      const int64_t keep = std::min(length, width - k * length);
      std::copy(v.begin(), v.begin() + keep, out.data.begin() + r * width + k * length);
    }
  }
  return out;
}

Array fft(const Array& x, const ir::v1::Fft& f) {
  const int dims = f.lengths_size();
  if (dims != 1 && dims != 2) fail("fft needs one (1-D) or two (2-D) lengths");
  for (int64_t n : f.lengths())
    if (!is_pow2(n)) fail("fft length " + std::to_string(n) + " is not a power of two");
  // Complex tensors carry (real, imaginary) pairs on a trailing axis of 2.
  std::vector<int64_t> value_shape = x.shape;
  if (!f.real_input()) {
    if (value_shape.empty() || value_shape.back() != 2)
      fail("complex fft input " + shape_str(x.shape) + " needs a trailing (real, imag) axis of 2");
    value_shape.pop_back();
  }
  const int64_t values = elements(value_shape);
  const int64_t n1 = value_shape.empty() ? 1 : value_shape.back();
  int64_t n0 = 1;
  if (dims == 2) {
    // A rank-2 input is a view [batch * rows, cols] of `batch` matrices.
    n0 = value_shape.size() >= 3 ? value_shape[value_shape.size() - 2]
                                 : values / (std::max<int64_t>(1, f.batch()) * n1);
  }
  const int64_t l0 = dims == 2 ? f.lengths(0) : 1;
  const int64_t l1 = f.lengths(dims - 1);
  if (n0 <= 0 || n1 <= 0 || values % (n0 * n1) != 0)
    fail("fft input " + shape_str(x.shape) + " does not split into signals of the op's batch");
  if (n0 > l0 || n1 > l1)
    fail("fft input signal " +
         shape_str(dims == 2 ? std::vector<int64_t>{n0, n1} : std::vector<int64_t>{n1}) +
         " is longer than the fft lengths");
  const int64_t signals = values / (n0 * n1);
  Array out{value_shape,
            std::vector<float>(static_cast<size_t>(values * (f.real_output() ? 1 : 2)))};
  if (!f.real_output()) out.shape.push_back(2);
  const double scale = f.inverse() ? 1.0 / static_cast<double>(l0 * l1) : 1.0;
  std::vector<Complex> buf(static_cast<size_t>(l0 * l1));
  for (int64_t s = 0; s < signals; ++s) {
    // Zero-pad each axis to its length, transform, and crop back to the input's size.
    std::fill(buf.begin(), buf.end(), Complex(0, 0));
    for (int64_t i = 0; i < n0; ++i)
      for (int64_t j = 0; j < n1; ++j) {
        const int64_t e = (s * n0 + i) * n1 + j;
        buf[static_cast<size_t>(i * l1 + j)] =
            f.real_input() ? Complex(x.data[e], 0) : Complex(x.data[2 * e], x.data[2 * e + 1]);
      }
    for (int64_t i = 0; i < l0; ++i) fft_1d(buf.data() + i * l1, l1, 1, f.inverse());
    if (dims == 2)
      for (int64_t j = 0; j < l1; ++j) fft_1d(buf.data() + j, l0, l1, f.inverse());
    for (int64_t i = 0; i < n0; ++i)
      for (int64_t j = 0; j < n1; ++j) {
        const Complex v = buf[static_cast<size_t>(i * l1 + j)] * scale;
        const int64_t e = (s * n0 + i) * n1 + j;
        if (f.real_output()) {
          out.data[e] = static_cast<float>(v.real());
        } else {
          out.data[2 * e] = static_cast<float>(v.real());
          out.data[2 * e + 1] = static_cast<float>(v.imag());
        }
      }
  }
  return out;
}

}  // namespace codesim::compress::kernels
