// GEMM, convolution, LSTM and einsum: the multiply-accumulate kernels, in float32 through Eigen
// and, for gemm and conv2d, in exact integer arithmetic.
#include <Eigen/Dense>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <type_traits>

#include "compress/reference/kernels.h"
#include "workloads/ir/ir.h"

namespace codesim::compress::kernels {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMat = Eigen::Map<const RowMajor<T>>;
template <typename T>
using Mat = Eigen::Map<RowMajor<T>>;

[[noreturn]] void fail(const std::string& message) { throw KernelError(message); }

// ---- gemm ----

struct GemmLayout {
  int64_t products = 1;  // 1 when B is one [K, N] matrix shared by every row of A
  int64_t m = 0;         // rows of A per product (all rows when products == 1)
  int64_t k = 0, n = 0;
  std::vector<int64_t> out_shape;
};

GemmLayout gemm_layout(const Array& a, const std::vector<int64_t>& b_shape, const ir::v1::Gemm& g) {
  GemmLayout l;
  l.k = g.k() > 0 ? g.k() : (a.shape.empty() ? 0 : a.shape.back());
  l.n = g.n() > 0 ? g.n() : (b_shape.empty() ? 0 : b_shape.back());
  if (l.k <= 0 || l.n <= 0) fail("gemm needs k and n (set them in the op)");
  const int64_t b_size = elements(b_shape);
  if (b_size == 0 || b_size % (l.k * l.n) != 0)
    fail("B " + shape_str(b_shape) + " does not hold K x N = " + std::to_string(l.k) + " x " +
         std::to_string(l.n) + " matrices");
  l.products = b_size / (l.k * l.n);
  if (a.size() % (l.products * l.k) != 0)
    fail("A " + shape_str(a.shape) + " does not split into " + std::to_string(l.products) +
         " products with K = " + std::to_string(l.k));
  l.m = a.size() / (l.products * l.k);
  const bool a_ends_in_k = !a.shape.empty() && a.shape.back() == l.k;
  const size_t rank = a.shape.size();
  if (a_ends_in_k && (l.products == 1 || (rank >= 3 && a.shape[rank - 2] == l.m))) {
    l.out_shape.assign(a.shape.begin(), a.shape.end() - 1);
    l.out_shape.push_back(l.n);
  } else if (l.products == 1) {
    l.out_shape = {l.m, l.n};
  } else {
    l.out_shape = {l.products, l.m, l.n};
  }
  return l;
}

// Adds a bias of N values to every row, or one of the output's size element by element.
void add_bias(Array& out, const Array* bias, int64_t n) {
  if (!bias) return;
  const size_t total = out.data.size();
  if (bias->size() == n) {
    for (size_t row = 0; row < total; row += static_cast<size_t>(n))
      for (size_t j = 0; j < static_cast<size_t>(n); ++j) out.data[row + j] += bias->data[j];
  } else if (bias->data.size() == total) {
    for (size_t i = 0; i < total; ++i) out.data[i] += bias->data[i];
  } else {
    fail("bias " + shape_str(bias->shape) + " has neither N = " + std::to_string(n) +
         " values nor the output's " + std::to_string(out.size()));
  }
}

// ---- integer operands ----

int64_t quantize(float x, const ActivationQuant& q) {
  // ONNX QuantizeLinear: the float32 quotient, rounded half to even, then the zero point.
  double v = static_cast<double>(std::nearbyint(x / q.scale)) + q.zero_point;
  if (!(v >= static_cast<double>(q.lo))) v = static_cast<double>(q.lo);
  if (v > static_cast<double>(q.hi)) v = static_cast<double>(q.hi);
  return static_cast<int64_t>(v);
}

// q_x - z_x for every element.
std::vector<int64_t> centered_activation(const Array& x, const ActivationQuant& q) {
  std::vector<int64_t> out(x.data.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = quantize(x.data[i], q) - q.zero_point;
  return out;
}

// Index along w.axis of element i of a row-major tensor.
int64_t channel_of(const IntWeight& w, int64_t i) {
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(w.axis) + 1; d < w.shape.size(); ++d) inner *= w.shape[d];
  return (i / inner) % w.shape[static_cast<size_t>(w.axis)];
}

// q_w - z_w for every element.
std::vector<int64_t> centered_weight(const IntWeight& w) {
  std::vector<int64_t> out(w.q.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const int32_t z = w.zero_point.size() == 1
                          ? w.zero_point[0]
                          : w.zero_point[channel_of(w, static_cast<int64_t>(i))];
    out[i] = static_cast<int64_t>(w.q[i]) - z;
  }
  return out;
}

float channel_scale(const IntWeight& w, int64_t channel) {
  return w.scale.size() == 1 ? w.scale[0] : w.scale[channel];
}

// Checks that the weight's scales are per tensor or per channel along `axis`.
void check_weight_axis(const IntWeight& w, int axis, const char* what) {
  if (w.scale.size() > 1 && w.axis != axis)
    fail(std::string("per-channel weight scales must lie along ") + what + " (axis " +
         std::to_string(axis) + "), not axis " + std::to_string(w.axis) +
         ": a scale that varies along the reduction cannot be applied after integer accumulation");
}

int64_t max_abs(const std::vector<int64_t>& v) {
  int64_t m = 0;
  for (int64_t x : v) m = std::max(m, x < 0 ? -x : x);
  return m;
}

template <typename To, typename From>
std::vector<To> cast(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

// The integer products `product(a, b)` computed on a and b cast to the narrowest scalar whose
// arithmetic is exact for them: when every partial sum of `terms` products stays below 2^24
// (float) or 2^53 (double), a floating-point GEMM, vectorized by Eigen, is exact whatever its
// summation order; beyond, int64.
template <typename Product>
std::vector<int64_t> exact_products(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                    int64_t terms, Product product) {
  const double bound = static_cast<double>(max_abs(a)) * static_cast<double>(max_abs(b)) *
                       static_cast<double>(terms);
  if (bound < 16777216.0) return cast<int64_t>(product(cast<float>(a), cast<float>(b)));
  if (bound < 9007199254740992.0) return cast<int64_t>(product(cast<double>(a), cast<double>(b)));
  return product(a, b);
}

// ---- convolution ----

struct ConvGeometry {
  int64_t n, c, h, w, f, groups, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow;
  int64_t cg() const { return c / groups; }
  int64_t fg() const { return f / groups; }
  int64_t patch() const { return cg() * kh * kw; }
};

ConvGeometry conv_geometry(int64_t x_size, const ir::v1::Conv2d& c, int64_t w_size) {
  ConvGeometry g{};
  g.c = c.c();
  g.h = c.h();
  g.w = c.w();
  g.f = c.filters();
  g.groups = std::max<int64_t>(1, c.groups());
  g.kh = c.kernel_h();
  g.kw = c.kernel_w();
  g.sh = c.stride_h();
  g.sw = c.stride_w();
  g.pt = c.pad_top();
  g.pl = c.pad_left();
  g.dh = std::max<int64_t>(1, c.dilation_h());
  g.dw = std::max<int64_t>(1, c.dilation_w());
  const int64_t image = g.c * g.h * g.w;
  if (image <= 0 || x_size % image != 0)
    fail("input of " + std::to_string(x_size) +
         " elements is not a whole number of C x H x W = " + std::to_string(g.c) + " x " +
         std::to_string(g.h) + " x " + std::to_string(g.w) + " images");
  g.n = x_size / image;
  g.oh = ir::conv_out_dim(g.h, g.kh, g.sh, g.pt, c.pad_bottom(), g.dh);
  g.ow = ir::conv_out_dim(g.w, g.kw, g.sw, g.pl, c.pad_right(), g.dw);
  if (g.oh <= 0 || g.ow <= 0) fail("the kernel does not fit the padded input");
  if (w_size != g.f * g.patch())
    fail("weight has " + std::to_string(w_size) + " elements, expected filters x C/groups x kh x " +
         "kw = " + std::to_string(g.f * g.patch()));
  return g;
}

// out[n, f, oy, ox] = sum over the patch of w[f, ...] * x[n, ...], by im2col and one GEMM per
// image and group.
template <typename T>
std::vector<T> conv_core(const T* x, const T* w, const ConvGeometry& g) {
  const int64_t pixels = g.oh * g.ow;
  std::vector<T> out(static_cast<size_t>(g.n * g.f * pixels));
  std::vector<T> col(static_cast<size_t>(g.patch() * pixels));
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* image = x + (n * g.c + grp * g.cg()) * g.h * g.w;
      for (int64_t ci = 0; ci < g.cg(); ++ci) {
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            T* row = col.data() + ((ci * g.kh + ky) * g.kw + kx) * pixels;
            // Output columns whose input column ix = ox * sw - pl + kx * dw lies inside.
            const int64_t shift = g.pl - kx * g.dw;
            const int64_t ox_lo = std::min(g.ow, shift > 0 ? (shift + g.sw - 1) / g.sw : 0);
            const int64_t ox_hi = std::max(
                ox_lo, std::min(g.ow, g.w - 1 + shift >= 0 ? (g.w - 1 + shift) / g.sw + 1 : 0));
            for (int64_t oy = 0; oy < g.oh; ++oy) {
              T* out_row = row + oy * g.ow;
              const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
              if (iy < 0 || iy >= g.h) {
                std::fill(out_row, out_row + g.ow, T(0));
                continue;
              }
              const T* in_row = image + (ci * g.h + iy) * g.w;
              std::fill(out_row, out_row + ox_lo, T(0));
              for (int64_t ox = ox_lo; ox < ox_hi; ++ox) out_row[ox] = in_row[ox * g.sw - shift];
              std::fill(out_row + ox_hi, out_row + g.ow, T(0));
            }
          }
        }
      }
      Mat<T>(out.data() + (n * g.f + grp * g.fg()) * pixels, g.fg(), pixels).noalias() =
          ConstMat<T>(w + grp * g.fg() * g.patch(), g.fg(), g.patch()) *
          ConstMat<T>(col.data(), g.patch(), pixels);
    }
  }
  return out;
}

void add_filter_bias(Array& out, const Array* bias, int64_t filters, int64_t pixels) {
  if (!bias) return;
  if (bias->size() != filters)
    fail("bias " + shape_str(bias->shape) + " must hold one value per filter (" +
         std::to_string(filters) + ")");
  float* y = out.data.data();
  for (size_t plane = 0; plane < out.data.size() / static_cast<size_t>(pixels); ++plane) {
    const float b = bias->data[plane % static_cast<size_t>(filters)];
    for (int64_t p = 0; p < pixels; ++p) *y++ += b;
  }
}

// ---- einsum ----

struct EinsumTerms {
  std::string a, b, out;
};

EinsumTerms parse_einsum(const std::string& equation) {
  std::string eq;
  for (char ch : equation)
    if (ch != ' ') eq += ch;
  const size_t comma = eq.find(',');
  const size_t arrow = eq.find("->");
  if (comma == std::string::npos || arrow == std::string::npos || comma > arrow ||
      eq.find(',', comma + 1) < arrow)
    fail("einsum equation '" + equation + "' must have two operands and an output, e.g. ab,bc->ac");
  EinsumTerms t{eq.substr(0, comma), eq.substr(comma + 1, arrow - comma - 1), eq.substr(arrow + 2)};
  for (const std::string* s : {&t.a, &t.b, &t.out}) {
    std::set<char> seen;
    for (char ch : *s) {
      if (!std::isalpha(static_cast<unsigned char>(ch)))
        fail("einsum equation '" + equation + "': only letters are supported as indices");
      if (!seen.insert(ch).second)
        fail("einsum equation '" + equation + "': index '" + std::string(1, ch) +
             "' repeats within one term (diagonals are not supported)");
    }
  }
  return t;
}

// Sizes of an operand's indices: from its shape when the ranks agree, else (a view) from the
// op's declared index sizes.
void einsum_sizes(const Array& x, const std::string& letters, const ir::v1::Einsum& e,
                  std::map<char, int64_t>& sizes) {
  std::vector<int64_t> dims;
  if (x.shape.size() == letters.size()) {
    dims = x.shape;
  } else {
    for (char ch : letters) {
      int64_t size = 0;
      for (const auto& ix : e.indices())
        if (ix.name().size() == 1 && ix.name()[0] == ch) size = ix.size();
      if (size <= 0) fail("einsum index '" + std::string(1, ch) + "' has no declared size");
      dims.push_back(size);
    }
    if (elements(dims) != x.size())
      fail("einsum operand " + shape_str(x.shape) + " does not match '" + letters + "' " +
           shape_str(dims));
  }
  for (size_t i = 0; i < letters.size(); ++i) {
    auto it = sizes.emplace(letters[i], dims[i]).first;
    if (it->second != dims[i])
      fail("einsum index '" + std::string(1, letters[i]) + "' has sizes " +
           std::to_string(it->second) + " and " + std::to_string(dims[i]));
  }
}

// x (with its letters) permuted to the order of `order`, then summed over its trailing
// `summed` letters.
Array arrange(const Array& x, const std::string& letters, const std::string& order,
              int64_t summed_elements, const std::map<char, int64_t>& sizes) {
  Array shaped{{}, x.data};
  for (char ch : letters) shaped.shape.push_back(sizes.at(ch));
  std::vector<int64_t> perm;
  for (char ch : order) perm.push_back(static_cast<int64_t>(letters.find(ch)));
  Array p = transpose(shaped, perm);
  if (summed_elements == 1) return p;
  Array out{{p.size() / summed_elements}, std::vector<float>(p.data.size() / summed_elements)};
  for (size_t i = 0; i < out.data.size(); ++i) {
    float s = 0;
    for (int64_t j = 0; j < summed_elements; ++j) s += p.data[i * summed_elements + j];
    out.data[i] = s;
  }
  return out;
}

}  // namespace

Array gemm(const Array& a, const Array& b, const Array* bias, const ir::v1::Gemm& g) {
  const GemmLayout l = gemm_layout(a, b.shape, g);
  Array out{l.out_shape, std::vector<float>(static_cast<size_t>(l.products * l.m * l.n))};
  for (int64_t p = 0; p < l.products; ++p)
    Mat<float>(out.data.data() + p * l.m * l.n, l.m, l.n).noalias() =
        ConstMat<float>(a.data.data() + p * l.m * l.k, l.m, l.k) *
        ConstMat<float>(b.data.data() + p * l.k * l.n, l.k, l.n);
  add_bias(out, bias, l.n);
  return out;
}

Array gemm_integer(const Array& a, const ActivationQuant& qa, const IntWeight& b, const Array* bias,
                   const ir::v1::Gemm& g) {
  const GemmLayout l = gemm_layout(a, b.shape, g);
  if (l.products != 1) fail("an integer gemm needs a [K, N] weight as B");
  check_weight_axis(b, static_cast<int>(b.shape.size()) - 1, "N");
  const std::vector<int64_t> xa = centered_activation(a, qa);
  const std::vector<int64_t> wb = centered_weight(b);
  const std::vector<int64_t> acc = exact_products(xa, wb, l.k, [&l](const auto& x, const auto& w) {
    using T = typename std::decay_t<decltype(x)>::value_type;
    std::vector<T> c(static_cast<size_t>(l.m * l.n));
    Mat<T>(c.data(), l.m, l.n).noalias() =
        ConstMat<T>(x.data(), l.m, l.k) * ConstMat<T>(w.data(), l.k, l.n);
    return c;
  });
  Array out{l.out_shape, std::vector<float>(acc.size())};
  for (size_t i = 0; i < acc.size(); ++i) {
    const double scale = static_cast<double>(qa.scale) *
                         static_cast<double>(channel_scale(b, static_cast<int64_t>(i) % l.n));
    out.data[i] = static_cast<float>(static_cast<double>(acc[i]) * scale);
  }
  add_bias(out, bias, l.n);
  return out;
}

Array conv2d(const Array& x, const Array& w, const Array* bias, const ir::v1::Conv2d& c) {
  const ConvGeometry g = conv_geometry(x.size(), c, w.size());
  Array out{{g.n, g.f, g.oh, g.ow}, conv_core(x.data.data(), w.data.data(), g)};
  add_filter_bias(out, bias, g.f, g.oh * g.ow);
  return out;
}

Array conv2d_integer(const Array& x, const ActivationQuant& qx, const IntWeight& w,
                     const Array* bias, const ir::v1::Conv2d& c) {
  const ConvGeometry g = conv_geometry(x.size(), c, static_cast<int64_t>(w.q.size()));
  check_weight_axis(w, 0, "filters");
  const std::vector<int64_t> xa = centered_activation(x, qx);
  const std::vector<int64_t> wb = centered_weight(w);
  const std::vector<int64_t> acc = exact_products(
      xa, wb, g.patch(),
      [&g](const auto& x, const auto& w) { return conv_core(x.data(), w.data(), g); });
  const int64_t pixels = g.oh * g.ow;
  Array out{{g.n, g.f, g.oh, g.ow}, std::vector<float>(acc.size())};
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t filter = (static_cast<int64_t>(i) / pixels) % g.f;
    const double scale =
        static_cast<double>(qx.scale) * static_cast<double>(channel_scale(w, filter));
    out.data[i] = static_cast<float>(static_cast<double>(acc[i]) * scale);
  }
  add_filter_bias(out, bias, g.f, pixels);
  return out;
}

namespace {

// The adder operands: float values, or (with q) centered activation codes and weights on the
// activation's grid, saturated to the signed range of the activation's bits.
struct AdderOperands {
  std::vector<double> x, w;
  double scale = 1;
};

AdderOperands adder_operands(const Array& x, const Array& w, const ActivationQuant* q) {
  AdderOperands o;
  o.x.assign(x.data.begin(), x.data.end());
  o.w.assign(w.data.begin(), w.data.end());
  if (!q) return o;
  const std::vector<int64_t> xc = centered_activation(x, *q);
  o.x.assign(xc.begin(), xc.end());
  const double half = static_cast<double>((q->hi - q->lo + 1) / 2);
  for (size_t i = 0; i < o.w.size(); ++i) {
    const double v = static_cast<double>(std::nearbyint(w.data[i] / q->scale));
    o.w[i] = std::min(half - 1, std::max(-half, v));
  }
  o.scale = q->scale;
  return o;
}

// Integer sums are exact in double below 2^53 (codes of at most 32 bits, far fewer terms).
float adder_result(double acc, const AdderOperands& o) { return static_cast<float>(acc * o.scale); }

}  // namespace

Array gemm_adder(const Array& a, const Array& b, const Array* bias, const ir::v1::Gemm& g,
                 const ActivationQuant* qa) {
  const GemmLayout l = gemm_layout(a, b.shape, g);
  const AdderOperands o = adder_operands(a, b, qa);
  Array out{l.out_shape, std::vector<float>(static_cast<size_t>(l.products * l.m * l.n))};
  for (int64_t p = 0; p < l.products; ++p)
    for (int64_t i = 0; i < l.m; ++i)
      for (int64_t j = 0; j < l.n; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < l.k; ++k)
          acc -= std::fabs(o.x[static_cast<size_t>((p * l.m + i) * l.k + k)] -
                           o.w[static_cast<size_t>((p * l.k + k) * l.n + j)]);
        out.data[static_cast<size_t>((p * l.m + i) * l.n + j)] = adder_result(acc, o);
      }
  add_bias(out, bias, l.n);
  return out;
}

Array conv2d_adder(const Array& x, const Array& w, const Array* bias, const ir::v1::Conv2d& c,
                   const ActivationQuant* qx) {
  const ConvGeometry g = conv_geometry(x.size(), c, w.size());
  const AdderOperands o = adder_operands(x, w, qx);
  Array out{{g.n, g.f, g.oh, g.ow},
            std::vector<float>(static_cast<size_t>(g.n * g.f * g.oh * g.ow))};
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t f = 0; f < g.f; ++f) {
      const int64_t c0 = (f / g.fg()) * g.cg();
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          double acc = 0;
          for (int64_t ci = 0; ci < g.cg(); ++ci)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
                const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
                const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
                const double xv =
                    inside ? o.x[static_cast<size_t>(((n * g.c + c0 + ci) * g.h + iy) * g.w + ix)]
                           : 0.0;
                acc -= std::fabs(
                    xv - o.w[static_cast<size_t>(((f * g.cg() + ci) * g.kh + ky) * g.kw + kx)]);
              }
          out.data[static_cast<size_t>(((n * g.f + f) * g.oh + oy) * g.ow + ox)] =
              adder_result(acc, o);
        }
    }
  add_filter_bias(out, bias, g.f, g.oh * g.ow);
  return out;
}

std::vector<Array> lstm_cell(const Array& x, const Array& w_ih, const Array& w_hh,
                             const Array* bias, const ir::v1::LstmCell& l) {
  const int64_t in = l.input_size(), hidden = l.hidden_size();
  const int64_t steps = std::max<int64_t>(1, l.steps());
  if (x.size() % (steps * in) != 0)
    fail("x " + shape_str(x.shape) + " is not [steps = " + std::to_string(steps) +
         ", batch, input_size = " + std::to_string(in) + "]");
  const int64_t batch = x.size() / (steps * in);
  if (w_ih.size() != 4 * hidden * in)
    fail("weight_ih " + shape_str(w_ih.shape) + " must be [4H, I] = [" +
         std::to_string(4 * hidden) + ", " + std::to_string(in) + "]");
  if (w_hh.size() != 4 * hidden * hidden)
    fail("weight_hh " + shape_str(w_hh.shape) + " must be [4H, H] = [" +
         std::to_string(4 * hidden) + ", " + std::to_string(hidden) + "]");
  if (bias && bias->size() != 4 * hidden)
    fail("bias " + shape_str(bias->shape) + " must be [4H] = [" + std::to_string(4 * hidden) +
         "] (b_ih + b_hh)");
  // The input projections of all steps do not depend on the state: one GEMM.
  RowMajor<float> xg = ConstMat<float>(x.data.data(), steps * batch, in) *
                       ConstMat<float>(w_ih.data.data(), 4 * hidden, in).transpose();
  if (bias) xg.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias->data.data(), 4 * hidden);
  const ConstMat<float> whh(w_hh.data.data(), 4 * hidden, hidden);
  RowMajor<float> h = RowMajor<float>::Zero(batch, hidden);
  RowMajor<float> c = RowMajor<float>::Zero(batch, hidden);
  RowMajor<float> gates(batch, 4 * hidden);
  Array y{{steps, batch, hidden}, std::vector<float>(static_cast<size_t>(steps * batch * hidden))};
  for (int64_t t = 0; t < steps; ++t) {
    gates.noalias() = xg.middleRows(t * batch, batch);
    gates.noalias() += h * whh.transpose();
    // Eigen's vectorized logistic and tanh (within a few ulp of libm's, and much faster).
    const auto gate = [&](int64_t g) { return gates.middleCols(g * hidden, hidden).array(); };
    c.array() = gate(1).logistic() * c.array() + gate(0).logistic() * gate(2).tanh();
    h.array() = gate(3).logistic() * c.array().tanh();
    std::copy(h.data(), h.data() + batch * hidden, y.data.data() + t * batch * hidden);
  }
  Array h_last{{batch, hidden}, std::vector<float>(h.data(), h.data() + batch * hidden)};
  Array c_last{{batch, hidden}, std::vector<float>(c.data(), c.data() + batch * hidden)};
  return {std::move(y), std::move(h_last), std::move(c_last)};
}

Array einsum(const Array& a, const Array& b, const ir::v1::Einsum& e) {
  const EinsumTerms t = parse_einsum(e.equation());
  std::map<char, int64_t> sizes;
  einsum_sizes(a, t.a, e, sizes);
  einsum_sizes(b, t.b, e, sizes);
  // Letters in both operands and the output are batch dimensions, in both but not the output are
  // contracted, in one operand and the output are free, in one operand only are summed first.
  std::string batch, contracted, free_a, free_b, sum_a, sum_b;
  for (char ch : t.out)
    if (!sizes.count(ch))
      fail("einsum output index '" + std::string(1, ch) + "' appears in no operand");
  const auto has = [](const std::string& s, char ch) { return s.find(ch) != std::string::npos; };
  for (char ch : t.a) {
    if (has(t.b, ch))
      (has(t.out, ch) ? batch : contracted) += ch;
    else
      (has(t.out, ch) ? free_a : sum_a) += ch;
  }
  for (char ch : t.b)
    if (!has(t.a, ch)) (has(t.out, ch) ? free_b : sum_b) += ch;
  const auto count = [&sizes](const std::string& letters) {
    int64_t n = 1;
    for (char ch : letters) n *= sizes[ch];
    return n;
  };
  const int64_t nb = count(batch), nc = count(contracted), na = count(free_a), nf = count(free_b);
  const Array pa = arrange(a, t.a, batch + free_a + contracted + sum_a, count(sum_a), sizes);
  const Array pb = arrange(b, t.b, batch + contracted + free_b + sum_b, count(sum_b), sizes);
  Array product{{}, std::vector<float>(static_cast<size_t>(nb * na * nf))};
  for (char ch : batch + free_a + free_b) product.shape.push_back(sizes[ch]);
  for (int64_t p = 0; p < nb; ++p)
    Mat<float>(product.data.data() + p * na * nf, na, nf).noalias() =
        ConstMat<float>(pa.data.data() + p * na * nc, na, nc) *
        ConstMat<float>(pb.data.data() + p * nc * nf, nc, nf);
  const std::string have = batch + free_a + free_b;
  std::vector<int64_t> perm;
  for (char ch : t.out) perm.push_back(static_cast<int64_t>(have.find(ch)));
  return transpose(product, perm);
}

}  // namespace codesim::compress::kernels
