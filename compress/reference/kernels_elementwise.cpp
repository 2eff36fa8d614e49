// Element-wise functions with numpy broadcasting, softmax, LayerNorm and pooling.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compress/reference/kernels.h"

namespace codesim::compress::kernels {

namespace {

[[noreturn]] void fail(const std::string& message) { throw KernelError(message); }

float gelu(float x) {
  // torch.nn.GELU's exact form, as exported to ONNX: x * 0.5 * (1 + erf(x / sqrt(2))).
  return x * 0.5f * (1.0f + std::erf(x / 1.41421356f));
}

template <typename F>
Array map(const Array& x, F f) {
  Array out{x.shape, std::vector<float>(x.data.size())};
  std::transform(x.data.begin(), x.data.end(), out.data.begin(), f);
  return out;
}

// One loop per function, so that the compiler can vectorize the simple ones.
Array unary(ir::v1::EltwiseFunc f, const Array& x) {
  switch (f) {
    case ir::v1::RELU:
      return map(x, [](float v) { return v > 0 ? v : 0.0f; });
    case ir::v1::GELU:
      return map(x, gelu);
    case ir::v1::SIGMOID:
      return map(x, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    case ir::v1::TANH:
      return map(x, [](float v) { return std::tanh(v); });
    case ir::v1::RELU6:
      return map(x, [](float v) { return std::min(std::max(v, 0.0f), 6.0f); });
    case ir::v1::HARDSWISH:
      return map(x, [](float v) { return v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f; });
    default:
      fail("eltwise " + ir::v1::EltwiseFunc_Name(f) + " needs two inputs");
  }
}

bool is_binary(ir::v1::EltwiseFunc f) {
  return f == ir::v1::ADD || f == ir::v1::MUL || f == ir::v1::SUB || f == ir::v1::DIV;
}

float binary(ir::v1::EltwiseFunc f, float a, float b) {
  switch (f) {
    case ir::v1::ADD:
      return a + b;
    case ir::v1::MUL:
      return a * b;
    case ir::v1::SUB:
      return a - b;
    default:
      return a / b;
  }
}

// a (op) b with numpy broadcasting. Operands of equal element count are combined element by
// element whatever their shapes: one of them is a view of the other (workloads/README.md).
Array broadcast(const Array& a, const Array& b, ir::v1::EltwiseFunc f) {
  if (a.size() == b.size()) {
    Array out{a.shape, std::vector<float>(a.data.size())};
    for (size_t i = 0; i < out.data.size(); ++i) out.data[i] = binary(f, a.data[i], b.data[i]);
    return out;
  }
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  std::vector<int64_t> shape(rank), sa(rank, 0), sb(rank, 0);
  int64_t stride_a = 1, stride_b = 1;
  for (size_t i = 0; i < rank; ++i) {
    const size_t d = rank - 1 - i;
    const int64_t da = i < a.shape.size() ? a.shape[a.shape.size() - 1 - i] : 1;
    const int64_t db = i < b.shape.size() ? b.shape[b.shape.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1)
      fail("cannot broadcast " + shape_str(a.shape) + " with " + shape_str(b.shape));
    shape[d] = std::max(da, db);
    sa[d] = da == 1 ? 0 : stride_a;
    sb[d] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  Array out{shape, std::vector<float>(static_cast<size_t>(elements(shape)))};
  std::vector<int64_t> idx(rank, 0);
  int64_t ia = 0, ib = 0;
  for (size_t i = 0; i < out.data.size(); ++i) {
    out.data[i] = binary(f, a.data[static_cast<size_t>(ia)], b.data[static_cast<size_t>(ib)]);
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < shape[d]) break;
      ia -= sa[d] * idx[d];
      ib -= sb[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

// Rows of `length` elements along the last axis (op length, or the last dimension).
int64_t row_length(const Array& x, int64_t declared, const char* what) {
  const int64_t length = declared > 0 ? declared : (x.shape.empty() ? 1 : x.shape.back());
  if (length <= 0 || x.size() % length != 0)
    fail(std::string(what) + " length " + std::to_string(length) + " does not divide the input " +
         shape_str(x.shape));
  return length;
}

// Output size of one pooled axis, as torch.nn.MaxPool2d / AvgPool2d compute it.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t span = in + 2 * p - k;
  if (span < 0) fail("the pooling window does not fit the padded input");
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  // A window that would start in the right padding is dropped.
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

}  // namespace

Array eltwise(const std::vector<const Array*>& in, ir::v1::EltwiseFunc func) {
  if (in.empty()) fail("eltwise needs an input");
  if (func == ir::v1::ELTWISE_UNSPECIFIED) fail("eltwise func is not set");
  if (!is_binary(func)) {
    if (in.size() != 1) fail("eltwise " + ir::v1::EltwiseFunc_Name(func) + " takes one input");
    return unary(func, *in[0]);
  }
  const bool associative = func == ir::v1::ADD || func == ir::v1::MUL;
  if (in.size() < 2 || (!associative && in.size() != 2))
    fail("eltwise " + ir::v1::EltwiseFunc_Name(func) +
         " takes two inputs (add and mul: two or "
         "more), not " +
         std::to_string(in.size()));
  Array out = broadcast(*in[0], *in[1], func);
  for (size_t i = 2; i < in.size(); ++i) out = broadcast(out, *in[i], func);
  return out;
}

Array softmax(const Array& x, const ir::v1::Softmax& s) {
  const int64_t length = row_length(x, s.length(), "softmax");
  Array out{x.shape, std::vector<float>(x.data.size())};
  const int64_t rows = x.size() / length;
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x.data.data() + r * length;
    float* y = out.data.data() + r * length;
    const float peak = *std::max_element(in, in + length);
    double sum = 0;
    for (int64_t i = 0; i < length; ++i) sum += (y[i] = std::exp(in[i] - peak));
    for (int64_t i = 0; i < length; ++i) y[i] = static_cast<float>(y[i] / sum);
  }
  return out;
}

Array layernorm(const Array& x, const Array* gamma, const Array* beta, const ir::v1::LayerNorm& l) {
  const int64_t length = row_length(x, l.length(), "layernorm");
  for (const Array* p : {gamma, beta})
    if (p && p->size() != length)
      fail("layernorm scale/shift " + shape_str(p->shape) + " must hold " + std::to_string(length) +
           " values");
  const double eps = l.epsilon() > 0 ? l.epsilon() : 1e-5;
  Array out{x.shape, std::vector<float>(x.data.size())};
  const int64_t rows = x.size() / length;
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x.data.data() + r * length;
    float* y = out.data.data() + r * length;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < length; ++i) mean += in[i];
    mean /= static_cast<double>(length);
    for (int64_t i = 0; i < length; ++i) var += (in[i] - mean) * (in[i] - mean);
    var /= static_cast<double>(length);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < length; ++i) {
      double v = (in[i] - mean) * inv;
      if (gamma) v *= gamma->data[static_cast<size_t>(i)];
      if (beta) v += beta->data[static_cast<size_t>(i)];
      y[i] = static_cast<float>(v);
    }
  }
  return out;
}

Array pool(const Array& x, const ir::v1::Pool& p) {
  const int64_t c = p.c(), h = p.h(), w = p.w();
  if (c * h * w <= 0 || x.size() % (c * h * w) != 0)
    fail("input " + shape_str(x.shape) + " is not a whole number of C x H x W = " +
         std::to_string(c) + " x " + std::to_string(h) + " x " + std::to_string(w) + " images");
  const int64_t planes = x.size() / (h * w);
  if (p.kind() == ir::v1::GLOBAL_AVG) {
    Array out{{planes / c, c, 1, 1}, std::vector<float>(static_cast<size_t>(planes))};
    for (int64_t i = 0; i < planes; ++i) {
      double s = 0;
      for (int64_t j = 0; j < h * w; ++j) s += x.data[static_cast<size_t>(i * h * w + j)];
      out.data[static_cast<size_t>(i)] = static_cast<float>(s / static_cast<double>(h * w));
    }
    return out;
  }
  if (p.kind() != ir::v1::MAX && p.kind() != ir::v1::AVG) fail("pool kind is not set");
  const int64_t kh = p.kernel_h(), kw = p.kernel_w(), sh = p.stride_h(), sw = p.stride_w();
  const int64_t ph = p.pad_h(), pw = p.pad_w();
  const int64_t oh = pool_out(h, kh, sh, ph, p.ceil_mode());
  const int64_t ow = pool_out(w, kw, sw, pw, p.ceil_mode());
  Array out{{planes / c, c, oh, ow}, std::vector<float>(static_cast<size_t>(planes * oh * ow))};
  float* y = out.data.data();
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* in = x.data.data() + plane * h * w;
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        // torch's window: clipped to the padded input for count_include_pad, to the input for
        // the values.
        int64_t y0 = oy * sh - ph, x0 = ox * sw - pw;
        int64_t y1 = std::min(y0 + kh, h + ph), x1 = std::min(x0 + kw, w + pw);
        const int64_t padded_window = (y1 - y0) * (x1 - x0);
        y0 = std::max<int64_t>(y0, 0);
        x0 = std::max<int64_t>(x0, 0);
        y1 = std::min(y1, h);
        x1 = std::min(x1, w);
        if (p.kind() == ir::v1::MAX) {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) m = std::max(m, in[iy * w + ix]);
          *y++ = m;
        } else {
          double s = 0;
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) s += in[iy * w + ix];
          const int64_t divisor = p.count_include_pad() ? padded_window : (y1 - y0) * (x1 - x0);
          *y++ = static_cast<float>(s / static_cast<double>(std::max<int64_t>(divisor, 1)));
        }
      }
    }
  }
  return out;
}

}  // namespace codesim::compress::kernels
