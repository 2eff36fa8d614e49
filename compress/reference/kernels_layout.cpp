// Layout ops with ONNX semantics: transpose, reduce, concat, slice.
#include <algorithm>
#include <limits>

#include "compress/reference/kernels.h"

namespace codesim::compress::kernels {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

[[noreturn]] void fail(const std::string& message) { throw KernelError(message); }

std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// A negative axis counts from the end, as in ONNX.
int64_t normalize_axis(int64_t axis, size_t rank, const char* what) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    fail(std::string(what) + " axis " + std::to_string(axis) + " is out of range for rank " +
         std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

}  // namespace

Array transpose(const Array& x, const std::vector<int64_t>& perm_in) {
  const size_t rank = x.shape.size();
  std::vector<int64_t> perm = perm_in;
  if (perm.empty())
    for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
  if (perm.size() != rank)
    fail("transpose perm has " + std::to_string(perm.size()) + " axes, the input " +
         shape_str(x.shape) + " has " + std::to_string(rank));
  const std::vector<int64_t> in_strides = strides_of(x.shape);
  Array out;
  std::vector<int64_t> src_stride(rank);
  for (size_t d = 0; d < rank; ++d) {
    out.shape.push_back(x.shape[static_cast<size_t>(perm[d])]);
    src_stride[d] = in_strides[static_cast<size_t>(perm[d])];
  }
  out.data.resize(x.data.size());
  // Odometer over the output, walking the input with the permuted strides.
  std::vector<int64_t> idx(rank, 0);
  int64_t src = 0;
  for (size_t i = 0; i < out.data.size(); ++i) {
    out.data[i] = x.data[static_cast<size_t>(src)];
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      src += src_stride[d];
      if (idx[d] < out.shape[d]) break;
      src -= src_stride[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

Array reduce(const Array& x, const ir::v1::Reduce& r) {
  if (r.kind() == ir::v1::REDUCE_UNSPECIFIED) fail("reduce kind is not set");
  const size_t rank = x.shape.size();
  std::vector<bool> reduced(rank, r.axes_size() == 0);  // no axes: every axis (ONNX default)
  for (int64_t a : r.axes()) reduced[static_cast<size_t>(normalize_axis(a, rank, "reduce"))] = true;
  // Move the reduced axes last, then fold each row.
  std::vector<int64_t> perm, kept_shape, out_shape;
  int64_t group = 1;
  for (size_t d = 0; d < rank; ++d)
    if (!reduced[d]) {
      perm.push_back(static_cast<int64_t>(d));
      kept_shape.push_back(x.shape[d]);
    }
  for (size_t d = 0; d < rank; ++d)
    if (reduced[d]) {
      perm.push_back(static_cast<int64_t>(d));
      group *= x.shape[d];
    }
  for (size_t d = 0; d < rank; ++d)
    if (!reduced[d] || r.keepdims()) out_shape.push_back(reduced[d] ? 1 : x.shape[d]);
  const Array p = transpose(x, perm);
  Array out{out_shape, std::vector<float>(static_cast<size_t>(elements(kept_shape)))};
  for (size_t i = 0; i < out.data.size(); ++i) {
    const float* row = p.data.data() + static_cast<int64_t>(i) * group;
    double acc = r.kind() == ir::v1::REDUCE_MAX ? -std::numeric_limits<double>::infinity() : 0.0;
    for (int64_t j = 0; j < group; ++j)
      acc = r.kind() == ir::v1::REDUCE_MAX ? std::max(acc, static_cast<double>(row[j]))
                                           : acc + row[j];
    if (r.kind() == ir::v1::REDUCE_MEAN) acc /= static_cast<double>(group);
    out.data[i] = static_cast<float>(acc);
  }
  return out;
}

Array concat(const std::vector<const Array*>& in, int64_t axis_in) {
  if (in.empty()) fail("concat needs at least one input");
  const std::vector<int64_t>& first = in[0]->shape;
  const size_t axis = static_cast<size_t>(normalize_axis(axis_in, first.size(), "concat"));
  Array out{first, {}};
  out.shape[axis] = 0;
  for (const Array* a : in) {
    bool fits = a->shape.size() == first.size();
    for (size_t d = 0; fits && d < first.size(); ++d) fits = d == axis || a->shape[d] == first[d];
    if (!fits)
      fail("concat inputs " + shape_str(first) + " and " + shape_str(a->shape) +
           " differ outside axis " + std::to_string(axis));
    out.shape[axis] += a->shape[axis];
  }
  int64_t outer = 1;
  for (size_t d = 0; d < axis; ++d) outer *= first[d];
  out.data.reserve(static_cast<size_t>(elements(out.shape)));
  for (int64_t o = 0; o < outer; ++o)
    for (const Array* a : in) {
      const int64_t block = a->size() / std::max<int64_t>(1, outer);
      out.data.insert(out.data.end(), a->data.begin() + o * block,
                      a->data.begin() + (o + 1) * block);
    }
  return out;
}

Array slice(const Array& x, const ir::v1::Slice& s) {
  const size_t rank = x.shape.size();
  std::vector<int64_t> start(rank, 0), step(rank, 1), count = x.shape;
  for (int i = 0; i < s.axes_size(); ++i) {
    const size_t d = static_cast<size_t>(normalize_axis(s.axes(i), rank, "slice"));
    const int64_t dim = x.shape[d];
    const int64_t st = s.steps_size() ? s.steps(i) : 1;
    if (st == 0) fail("slice step must not be 0");
    // ONNX Slice: negative positions count from the end, then clamp to the valid range.
    int64_t b = s.starts(i), e = s.ends(i);
    if (b < 0) b += dim;
    if (e < 0 && e > std::numeric_limits<int64_t>::min() + dim) e += dim;
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count[d] = e > b ? (e - b + st - 1) / st : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count[d] = b > e ? (b - e - st - 1) / -st : 0;
    }
    start[d] = b;
    step[d] = st;
  }
  const std::vector<int64_t> strides = strides_of(x.shape);
  Array out{count, std::vector<float>(static_cast<size_t>(elements(count)))};
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < out.data.size(); ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) src += (start[d] + idx[d] * step[d]) * strides[d];
    out.data[i] = x.data[static_cast<size_t>(src)];
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < count[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace codesim::compress::kernels
