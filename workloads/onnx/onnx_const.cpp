#include "workloads/onnx/onnx_const.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>

namespace codesim::workloads::onnx_detail {

namespace {

using onnx::TensorProto;

bool float_type(int32_t t) {
  return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
         t == TensorProto::BFLOAT16;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise the mantissa into a float exponent.
    exp = 113;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::string read_external(const TensorProto& t, const std::string& model_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if (kv.key() == "offset") offset = std::stoll(kv.value());
    if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (location.empty())
    throw ConstError("tensor '" + t.name() + "' has external data without a location");
  const std::string file = model_dir.empty() ? location : model_dir + "/" + location;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw ConstError("cannot open external data file '" + file + "' of tensor '" + t.name() + "'");
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  if (length < 0) length = file_size - offset;
  if (offset < 0 || offset + length > file_size)
    throw ConstError("external data of tensor '" + t.name() + "' lies outside '" + file + "'");
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  return bytes;
}

// ---- index arithmetic ----

Shape strides_of(const Shape& s) {
  Shape st(s.size(), 1);
  for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * s[d + 1];
  return st;
}

// Offsets base + sum(idx[d] * strides[d]) for every multi-index of `out`, in row-major order.
std::vector<int64_t> strided_offsets(const Shape& out, const Shape& strides, int64_t base) {
  const int64_t n = numel(out);
  std::vector<int64_t> offsets(static_cast<size_t>(n));
  Shape idx(out.size(), 0);
  int64_t off = base;
  for (int64_t k = 0; k < n; ++k) {
    offsets[k] = off;
    for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
  return offsets;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ConstError("shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

// Offsets into a tensor of shape `in` for every element of the broadcast shape `out`.
std::vector<int64_t> broadcast_offsets(const Shape& out, const Shape& in) {
  const Shape in_strides = strides_of(in);
  Shape strides(out.size(), 0);
  const size_t lead = out.size() - in.size();
  for (size_t k = 0; k < in.size(); ++k) strides[lead + k] = in[k] == 1 ? 0 : in_strides[k];
  return strided_offsets(out, strides, 0);
}

ConstTensor select(const ConstTensor& src, const std::vector<int64_t>& offsets, Shape out_shape) {
  ConstTensor r;
  r.shape = std::move(out_shape);
  r.is_float = src.is_float;
  r.elem_type = src.elem_type;
  if (src.is_float) {
    r.f.resize(offsets.size());
    for (size_t k = 0; k < offsets.size(); ++k) r.f[k] = src.f[offsets[k]];
  } else {
    r.i.resize(offsets.size());
    for (size_t k = 0; k < offsets.size(); ++k) r.i[k] = src.i[offsets[k]];
  }
  return r;
}

int64_t norm_axis(int64_t axis, int64_t rank, const std::string& what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw ConstError(what + " axis " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  return a;
}

// Axes given as attribute (older opsets) or as optional input `k` (newer opsets).
bool axes_of(const onnx::NodeProto& n, const std::vector<const ConstTensor*>& in, size_t k,
             std::vector<int64_t>& axes) {
  if (attr_ints(n, "axes", axes)) return true;
  if (in.size() > k && in[k]) {
    axes = in[k]->ints();
    return true;
  }
  return false;
}

const ConstTensor& need(const std::vector<const ConstTensor*>& in, size_t k,
                        const onnx::NodeProto& n) {
  if (in.size() <= k || !in[k]) throw ConstError(n.op_type() + " needs input " + std::to_string(k));
  return *in[k];
}

ConstTensor make_ints(Shape shape, std::vector<int64_t> values) {
  ConstTensor r;
  r.shape = std::move(shape);
  r.is_float = false;
  r.elem_type = TensorProto::INT64;
  r.i = std::move(values);
  return r;
}

ConstTensor convert(const ConstTensor& src, int32_t to) {
  ConstTensor r;
  r.shape = src.shape;
  r.elem_type = to;
  r.is_float = float_type(to);
  const int64_t n = src.size();
  if (r.is_float) {
    r.f.resize(n);
    for (int64_t k = 0; k < n; ++k) r.f[k] = static_cast<float>(src.at(k));
  } else {
    r.i.resize(n);
    for (int64_t k = 0; k < n; ++k) {
      if (to == TensorProto::BOOL)
        r.i[k] = src.at(k) != 0;
      else
        r.i[k] = src.is_float ? static_cast<int64_t>(std::trunc(src.f[k])) : src.i[k];
    }
  }
  return r;
}

// ---- element-wise ops ----

ConstTensor binary(const std::string& op, const ConstTensor& a, const ConstTensor& b) {
  const Shape out = broadcast_shapes(a.shape, b.shape);
  const auto ia = broadcast_offsets(out, a.shape);
  const auto ib = broadcast_offsets(out, b.shape);
  const int64_t n = numel(out);
  ConstTensor r;
  r.shape = out;
  static const std::set<std::string> compare = {"Equal",          "Less", "Greater", "LessOrEqual",
                                                "GreaterOrEqual", "And",  "Or",      "Xor"};
  if (compare.count(op)) {
    r.is_float = false;
    r.elem_type = TensorProto::BOOL;
    r.i.resize(n);
    for (int64_t k = 0; k < n; ++k) {
      const double x = a.at(ia[k]), y = b.at(ib[k]);
      bool v = false;
      if (op == "Equal") v = a.is_float || b.is_float ? x == y : a.i[ia[k]] == b.i[ib[k]];
      if (op == "Less") v = x < y;
      if (op == "Greater") v = x > y;
      if (op == "LessOrEqual") v = x <= y;
      if (op == "GreaterOrEqual") v = x >= y;
      if (op == "And") v = x != 0 && y != 0;
      if (op == "Or") v = x != 0 || y != 0;
      if (op == "Xor") v = (x != 0) != (y != 0);
      r.i[k] = v;
    }
    return r;
  }
  if (a.is_float || b.is_float) {
    r.is_float = true;
    r.elem_type = a.is_float ? a.elem_type : b.elem_type;
    r.f.resize(n);
    std::function<double(double, double)> fn;
    if (op == "Add") fn = [](double x, double y) { return x + y; };
    if (op == "Sub") fn = [](double x, double y) { return x - y; };
    if (op == "Mul") fn = [](double x, double y) { return x * y; };
    if (op == "Div") fn = [](double x, double y) { return x / y; };
    if (op == "Pow") fn = [](double x, double y) { return std::pow(x, y); };
    if (op == "Max") fn = [](double x, double y) { return std::max(x, y); };
    if (op == "Min") fn = [](double x, double y) { return std::min(x, y); };
    if (!fn) throw ConstError("cannot fold " + op);
    // Single-precision operands, as an ONNX runtime would compute them.
    for (int64_t k = 0; k < n; ++k)
      r.f[k] =
          static_cast<float>(fn(static_cast<float>(a.at(ia[k])), static_cast<float>(b.at(ib[k]))));
    return r;
  }
  r.is_float = false;
  r.elem_type = a.elem_type;
  r.i.resize(n);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t x = a.i[ia[k]], y = b.i[ib[k]];
    int64_t v = 0;
    if (op == "Add") {
      v = x + y;
    } else if (op == "Sub") {
      v = x - y;
    } else if (op == "Mul") {
      v = x * y;
    } else if (op == "Div") {
      if (y == 0) throw ConstError("integer division by zero");
      v = x / y;
    } else if (op == "Pow") {
      v = static_cast<int64_t>(
          std::llround(std::pow(static_cast<double>(x), static_cast<double>(y))));
    } else if (op == "Max") {
      v = std::max(x, y);
    } else if (op == "Min") {
      v = std::min(x, y);
    } else {
      throw ConstError("cannot fold " + op);
    }
    r.i[k] = v;
  }
  return r;
}

ConstTensor unary(const std::string& op, const ConstTensor& a) {
  if (op == "Not") {
    ConstTensor r = convert(a, TensorProto::BOOL);
    for (auto& v : r.i) v = !v;
    return r;
  }
  if (!a.is_float) {
    ConstTensor r = a;
    if (op == "Neg")
      for (auto& v : r.i) v = -v;
    else if (op == "Abs")
      for (auto& v : r.i) v = v < 0 ? -v : v;
    else
      throw ConstError("cannot fold " + op + " of an integer tensor");
    return r;
  }
  std::function<double(double)> fn;
  if (op == "Neg") fn = [](double x) { return -x; };
  if (op == "Abs") fn = [](double x) { return std::fabs(x); };
  if (op == "Sqrt") fn = [](double x) { return std::sqrt(x); };
  if (op == "Reciprocal") fn = [](double x) { return 1.0 / x; };
  if (op == "Floor") fn = [](double x) { return std::floor(x); };
  if (op == "Ceil") fn = [](double x) { return std::ceil(x); };
  if (op == "Exp") fn = [](double x) { return std::exp(x); };
  if (op == "Log") fn = [](double x) { return std::log(x); };
  if (op == "Relu") fn = [](double x) { return x > 0 ? x : 0.0; };
  if (op == "Sigmoid") fn = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  if (op == "Tanh") fn = [](double x) { return std::tanh(x); };
  if (op == "Erf") fn = [](double x) { return std::erf(x); };
  if (!fn) throw ConstError("cannot fold " + op);
  ConstTensor r = a;
  for (auto& v : r.f) v = static_cast<float>(fn(v));
  return r;
}

// ---- layout ops ----

ConstTensor reshape_to(const ConstTensor& a, Shape s) {
  if (numel(s) != a.size())
    throw ConstError("cannot reshape " + shape_str(a.shape) + " to " + shape_str(s));
  ConstTensor r = a;
  r.shape = std::move(s);
  return r;
}

Shape reshape_target(const Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
  Shape out(spec.size());
  int64_t known = 1;
  int infer = -1;
  for (size_t k = 0; k < spec.size(); ++k) {
    if (spec[k] == -1) {
      if (infer >= 0) throw ConstError("reshape target has two -1 entries");
      infer = static_cast<int>(k);
      continue;
    }
    out[k] = spec[k] == 0 && !allowzero ? (k < in.size() ? in[k] : 0) : spec[k];
    known *= out[k];
  }
  if (infer >= 0) {
    if (known == 0) throw ConstError("reshape target with -1 and a zero dimension");
    out[infer] = numel(in) / known;
  }
  return out;
}

ConstTensor slice(const onnx::NodeProto& n, const std::vector<const ConstTensor*>& in) {
  const ConstTensor& data = need(in, 0, n);
  std::vector<int64_t> starts, ends, axes, steps;
  if (!attr_ints(n, "starts", starts)) {
    starts = need(in, 1, n).ints();
    ends = need(in, 2, n).ints();
    if (in.size() > 3 && in[3]) axes = in[3]->ints();
    if (in.size() > 4 && in[4]) steps = in[4]->ints();
  } else {
    attr_ints(n, "ends", ends);
    attr_ints(n, "axes", axes);
  }
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw ConstError("Slice starts, ends, axes and steps differ in length");
  const Shape in_strides = strides_of(data.shape);
  Shape out = data.shape;
  Shape strides = in_strides;
  int64_t base = 0;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t ax = norm_axis(axes[k], rank, "Slice");
    const int64_t dim = data.shape[ax];
    const int64_t step = steps[k];
    if (step == 0) throw ConstError("Slice step 0");
    int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    int64_t count;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    out[ax] = count;
    base += s * in_strides[ax];
    strides[ax] = step * in_strides[ax];
  }
  return select(data, strided_offsets(out, strides, numel(out) ? base : 0), out);
}

ConstTensor gather(const onnx::NodeProto& n, const ConstTensor& data, const ConstTensor& idx) {
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  const int64_t axis = norm_axis(attr_int(n, "axis", 0), rank, "Gather");
  const int64_t dim = data.shape[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= data.shape[d];
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(numel(out)));
  const auto indices = idx.ints();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : indices) {
      const int64_t jj = j < 0 ? j + dim : j;
      if (jj < 0 || jj >= dim)
        throw ConstError("Gather index " + std::to_string(j) + " is out of range for dimension " +
                         std::to_string(dim));
      for (int64_t q = 0; q < inner; ++q) offsets.push_back((o * dim + jj) * inner + q);
    }
  return select(data, offsets, out);
}

ConstTensor concat(const onnx::NodeProto& n, const std::vector<const ConstTensor*>& in) {
  const ConstTensor& first = need(in, 0, n);
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  const int64_t axis = norm_axis(attr_int(n, "axis", 0), rank, "Concat");
  Shape out = first.shape;
  out[axis] = 0;
  for (const auto* t : in) {
    if (!t) throw ConstError("Concat with an omitted input");
    out[axis] += t->shape[axis];
  }
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[d];
  ConstTensor r;
  r.shape = out;
  r.is_float = first.is_float;
  r.elem_type = first.elem_type;
  for (int64_t o = 0; o < outer; ++o)
    for (const auto* t : in) {
      const int64_t block = t->size() / std::max<int64_t>(outer, 1);
      if (r.is_float)
        r.f.insert(r.f.end(), t->f.begin() + o * block, t->f.begin() + (o + 1) * block);
      else
        r.i.insert(r.i.end(), t->i.begin() + o * block, t->i.begin() + (o + 1) * block);
    }
  return r;
}

ConstTensor constant_attr(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "value") return decode_tensor(a.t(), "");
    if (a.name() == "value_float") {
      ConstTensor r;
      r.f = {a.f()};
      return r;
    }
    if (a.name() == "value_floats") {
      ConstTensor r;
      r.f.assign(a.floats().begin(), a.floats().end());
      r.shape = {static_cast<int64_t>(r.f.size())};
      return r;
    }
    if (a.name() == "value_int") return make_ints({}, {a.i()});
    if (a.name() == "value_ints") {
      std::vector<int64_t> v(a.ints().begin(), a.ints().end());
      const int64_t len = static_cast<int64_t>(v.size());
      return make_ints({len}, std::move(v));
    }
  }
  throw ConstError("Constant without a supported value attribute");
}

}  // namespace

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : def;
}

float attr_float(const onnx::NodeProto& n, const std::string& name, float def) {
  const auto* a = find_attr(n, name);
  return a ? a->f() : def;
}

std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& def) {
  const auto* a = find_attr(n, name);
  return a ? a->s() : def;
}

bool attr_ints(const onnx::NodeProto& n, const std::string& name, std::vector<int64_t>& out) {
  const auto* a = find_attr(n, name);
  if (!a) return false;
  out.assign(a->ints().begin(), a->ints().end());
  return true;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
  return out + "]";
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::vector<int64_t> ConstTensor::ints() const {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  for (int64_t k = 0; k < size(); ++k) out[k] = int_at(k);
  return out;
}

int64_t elem_size(int32_t t) {
  switch (t) {
    case TensorProto::FLOAT:
    case TensorProto::INT32:
    case TensorProto::UINT32:
      return 4;
    case TensorProto::DOUBLE:
    case TensorProto::INT64:
    case TensorProto::UINT64:
    case TensorProto::COMPLEX64:
      return 8;
    case TensorProto::COMPLEX128:
      return 16;
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
    case TensorProto::INT16:
    case TensorProto::UINT16:
      return 2;
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::BOOL:
      return 1;
    default:
      return 0;
  }
}

ConstTensor decode_tensor(const TensorProto& t, const std::string& model_dir) {
  ConstTensor c;
  c.shape.assign(t.dims().begin(), t.dims().end());
  c.elem_type = t.data_type();
  c.is_float = float_type(c.elem_type);
  const int64_t n = numel(c.shape);
  const int64_t es = elem_size(c.elem_type);
  const std::string what = "tensor '" + t.name() + "'";
  if (es == 0 || c.elem_type == TensorProto::COMPLEX64 || c.elem_type == TensorProto::COMPLEX128)
    throw ConstError(what + " has an unsupported element type (" +
                     TensorProto::DataType_Name(static_cast<TensorProto::DataType>(c.elem_type)) +
                     ")");
  std::string external;
  const std::string* raw = nullptr;
  if (t.data_location() == TensorProto::EXTERNAL) {
    external = read_external(t, model_dir);
    raw = &external;
  } else if (t.has_raw_data()) {
    raw = &t.raw_data();
  }
  if (c.is_float)
    c.f.resize(static_cast<size_t>(n));
  else
    c.i.resize(static_cast<size_t>(n));
  if (raw) {
    if (static_cast<int64_t>(raw->size()) != n * es)
      throw ConstError(what + " holds " + std::to_string(raw->size()) + " bytes but its shape " +
                       shape_str(c.shape) + " needs " + std::to_string(n * es));
    const char* p = raw->data();
    for (int64_t k = 0; k < n; ++k, p += es) {
      switch (c.elem_type) {
        case TensorProto::FLOAT:
          c.f[k] = load<float>(p);
          break;
        case TensorProto::DOUBLE:
          c.f[k] = static_cast<float>(load<double>(p));
          break;
        case TensorProto::FLOAT16:
          c.f[k] = half_to_float(load<uint16_t>(p));
          break;
        case TensorProto::BFLOAT16:
          c.f[k] = bfloat_to_float(load<uint16_t>(p));
          break;
        case TensorProto::INT64:
          c.i[k] = load<int64_t>(p);
          break;
        case TensorProto::UINT64:
          c.i[k] = static_cast<int64_t>(load<uint64_t>(p));
          break;
        case TensorProto::INT32:
          c.i[k] = load<int32_t>(p);
          break;
        case TensorProto::UINT32:
          c.i[k] = load<uint32_t>(p);
          break;
        case TensorProto::INT16:
          c.i[k] = load<int16_t>(p);
          break;
        case TensorProto::UINT16:
          c.i[k] = load<uint16_t>(p);
          break;
        case TensorProto::INT8:
          c.i[k] = load<int8_t>(p);
          break;
        case TensorProto::UINT8:
        case TensorProto::BOOL:
          c.i[k] = load<uint8_t>(p);
          break;
        default:
          break;
      }
    }
    return c;
  }
  // Typed fields: which one holds the values depends on the element type (onnx.proto).
  auto check = [&](int64_t have) {
    if (have != n)
      throw ConstError(what + " holds " + std::to_string(have) + " values but its shape " +
                       shape_str(c.shape) + " has " + std::to_string(n));
  };
  switch (c.elem_type) {
    case TensorProto::FLOAT:
      check(t.float_data_size());
      std::copy(t.float_data().begin(), t.float_data().end(), c.f.begin());
      break;
    case TensorProto::DOUBLE:
      check(t.double_data_size());
      for (int64_t k = 0; k < n; ++k) c.f[k] = static_cast<float>(t.double_data(k));
      break;
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
      check(t.int32_data_size());
      for (int64_t k = 0; k < n; ++k) {
        const auto bits = static_cast<uint16_t>(t.int32_data(k));
        c.f[k] = c.elem_type == TensorProto::FLOAT16 ? half_to_float(bits) : bfloat_to_float(bits);
      }
      break;
    case TensorProto::INT64:
      check(t.int64_data_size());
      std::copy(t.int64_data().begin(), t.int64_data().end(), c.i.begin());
      break;
    case TensorProto::UINT32:
    case TensorProto::UINT64:
      check(t.uint64_data_size());
      for (int64_t k = 0; k < n; ++k) c.i[k] = static_cast<int64_t>(t.uint64_data(k));
      break;
    default:
      check(t.int32_data_size());
      std::copy(t.int32_data().begin(), t.int32_data().end(), c.i.begin());
      break;
  }
  return c;
}

TensorProto encode_tensor(const ConstTensor& c, const std::string& name) {
  TensorProto t;
  t.set_name(name);
  for (int64_t d : c.shape) t.add_dims(d);
  if (c.is_float) {
    t.set_data_type(TensorProto::FLOAT);
    t.set_raw_data(std::string(reinterpret_cast<const char*>(c.f.data()), c.f.size() * 4));
    return t;
  }
  const int32_t type = c.elem_type == TensorProto::INT32 || c.elem_type == TensorProto::BOOL
                           ? c.elem_type
                           : TensorProto::INT64;
  t.set_data_type(type);
  std::string raw;
  for (int64_t v : c.i) {
    if (type == TensorProto::INT64) {
      raw.append(reinterpret_cast<const char*>(&v), 8);
    } else if (type == TensorProto::INT32) {
      const auto w = static_cast<int32_t>(v);
      raw.append(reinterpret_cast<const char*>(&w), 4);
    } else {
      raw.push_back(static_cast<char>(v != 0));
    }
  }
  t.set_raw_data(raw);
  return t;
}

bool foldable(const std::string& op) {
  static const std::set<std::string> ops = {"Constant",
                                            "Identity",
                                            "Shape",
                                            "Size",
                                            "ConstantOfShape",
                                            "Cast",
                                            "Gather",
                                            "Unsqueeze",
                                            "Squeeze",
                                            "Reshape",
                                            "Flatten",
                                            "Concat",
                                            "Slice",
                                            "Transpose",
                                            "Expand",
                                            "Where",
                                            "Range",
                                            "Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Pow",
                                            "Max",
                                            "Min",
                                            "Equal",
                                            "Less",
                                            "Greater",
                                            "LessOrEqual",
                                            "GreaterOrEqual",
                                            "And",
                                            "Or",
                                            "Xor",
                                            "Not",
                                            "Neg",
                                            "Abs",
                                            "Sqrt",
                                            "Reciprocal",
                                            "Floor",
                                            "Ceil",
                                            "Exp",
                                            "Log",
                                            "Relu",
                                            "Sigmoid",
                                            "Tanh",
                                            "Erf"};
  return ops.count(op) > 0;
}

std::vector<ConstTensor> fold_node(const onnx::NodeProto& n,
                                   const std::vector<const ConstTensor*>& in,
                                   const std::vector<Shape>& in_shapes) {
  const std::string& op = n.op_type();
  if (op == "Constant") return {constant_attr(n)};
  if (op == "Identity") return {need(in, 0, n)};
  if (op == "Shape") {
    const Shape& s = in_shapes.at(0);
    const int64_t rank = static_cast<int64_t>(s.size());
    int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    std::vector<int64_t> v(s.begin() + start, s.begin() + end);
    const int64_t len = static_cast<int64_t>(v.size());
    return {make_ints({len}, std::move(v))};
  }
  if (op == "Size") return {make_ints({}, {numel(in_shapes.at(0))})};
  if (op == "ConstantOfShape") {
    const auto shape = need(in, 0, n).ints();
    ConstTensor value;
    value.f = {0.0f};
    if (const auto* a = find_attr(n, "value")) value = decode_tensor(a->t(), "");
    if (value.size() != 1) throw ConstError("ConstantOfShape value must hold one element");
    return {select(value, std::vector<int64_t>(static_cast<size_t>(numel(shape)), 0), shape)};
  }
  if (op == "Cast") return {convert(need(in, 0, n), static_cast<int32_t>(attr_int(n, "to", 1)))};
  if (op == "Gather") return {gather(n, need(in, 0, n), need(in, 1, n))};
  if (op == "Unsqueeze") {
    const ConstTensor& a = need(in, 0, n);
    std::vector<int64_t> axes;
    if (!axes_of(n, in, 1, axes)) throw ConstError("Unsqueeze without axes");
    const int64_t rank = static_cast<int64_t>(a.shape.size() + axes.size());
    std::set<int64_t> at;
    for (int64_t ax : axes) at.insert(norm_axis(ax, rank, "Unsqueeze"));
    Shape out;
    size_t src = 0;
    for (int64_t d = 0; d < rank; ++d) out.push_back(at.count(d) ? 1 : a.shape.at(src++));
    return {reshape_to(a, out)};
  }
  if (op == "Squeeze") {
    const ConstTensor& a = need(in, 0, n);
    std::vector<int64_t> axes;
    const int64_t rank = static_cast<int64_t>(a.shape.size());
    std::set<int64_t> drop;
    if (axes_of(n, in, 1, axes)) {
      for (int64_t ax : axes) drop.insert(norm_axis(ax, rank, "Squeeze"));
    } else {
      for (int64_t d = 0; d < rank; ++d)
        if (a.shape[d] == 1) drop.insert(d);
    }
    Shape out;
    for (int64_t d = 0; d < rank; ++d)
      if (!drop.count(d)) out.push_back(a.shape[d]);
    return {reshape_to(a, out)};
  }
  if (op == "Reshape") {
    const ConstTensor& a = need(in, 0, n);
    return {reshape_to(
        a, reshape_target(a.shape, need(in, 1, n).ints(), attr_int(n, "allowzero", 0) != 0))};
  }
  if (op == "Flatten") {
    const ConstTensor& a = need(in, 0, n);
    const int64_t rank = static_cast<int64_t>(a.shape.size());
    int64_t axis = attr_int(n, "axis", 1);
    if (axis < 0) axis += rank;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= a.shape[d];
    return {reshape_to(a, {outer, a.size() / std::max<int64_t>(outer, 1)})};
  }
  if (op == "Concat") return {concat(n, in)};
  if (op == "Slice") return {slice(n, in)};
  if (op == "Transpose") {
    const ConstTensor& a = need(in, 0, n);
    const int64_t rank = static_cast<int64_t>(a.shape.size());
    std::vector<int64_t> perm;
    if (!attr_ints(n, "perm", perm))
      for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    const Shape in_strides = strides_of(a.shape);
    Shape out(rank), strides(rank);
    for (int64_t d = 0; d < rank; ++d) {
      out[d] = a.shape.at(perm[d]);
      strides[d] = in_strides.at(perm[d]);
    }
    return {select(a, strided_offsets(out, strides, 0), out)};
  }
  if (op == "Expand") {
    const ConstTensor& a = need(in, 0, n);
    const Shape out = broadcast_shapes(a.shape, need(in, 1, n).ints());
    return {select(a, broadcast_offsets(out, a.shape), out)};
  }
  if (op == "Where") {
    const ConstTensor &c = need(in, 0, n), &x = need(in, 1, n), &y = need(in, 2, n);
    const Shape out = broadcast_shapes(broadcast_shapes(c.shape, x.shape), y.shape);
    ConstTensor xs = select(x, broadcast_offsets(out, x.shape), out);
    const ConstTensor ys = select(y, broadcast_offsets(out, y.shape), out);
    const auto ic = broadcast_offsets(out, c.shape);
    for (size_t k = 0; k < ic.size(); ++k) {
      if (c.at(ic[k]) != 0) continue;
      if (xs.is_float)
        xs.f[k] = ys.f[k];
      else
        xs.i[k] = ys.i[k];
    }
    return {xs};
  }
  if (op == "Range") {
    const ConstTensor &s = need(in, 0, n), &l = need(in, 1, n), &d = need(in, 2, n);
    const double start = s.at(0), limit = l.at(0), delta = d.at(0);
    if (delta == 0) throw ConstError("Range with delta 0");
    const auto count = static_cast<int64_t>(std::max(0.0, std::ceil((limit - start) / delta)));
    ConstTensor r;
    r.shape = {count};
    r.is_float = s.is_float;
    r.elem_type = s.elem_type;
    for (int64_t k = 0; k < count; ++k) {
      if (r.is_float)
        r.f.push_back(static_cast<float>(start + k * delta));
      else
        r.i.push_back(s.i[0] + k * d.i[0]);
    }
    return {r};
  }
  if (op == "Max" || op == "Min") {
    ConstTensor acc = need(in, 0, n);
    for (size_t k = 1; k < in.size(); ++k) acc = binary(op, acc, need(in, k, n));
    return {acc};
  }
  if (in.size() == 2) return {binary(op, need(in, 0, n), need(in, 1, n))};
  if (in.size() == 1) return {unary(op, need(in, 0, n))};
  throw ConstError("cannot fold " + op);
}

}  // namespace codesim::workloads::onnx_detail
