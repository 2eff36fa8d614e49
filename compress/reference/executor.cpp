#include "compress/reference/executor.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "compress/reference/kernels.h"
#include "sim/core/diagnostics.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

int64_t Array::size() const { return kernels::elements(shape); }

namespace {

using kernels::ActivationQuant;
using kernels::IntWeight;

[[noreturn]] void op_error(const ir::v1::Op& op, const std::string& message) {
  throw sim::ConfigError("op '" + op.name() + "' (" + ir::op_kind(op) + "): " + message);
}

std::vector<int64_t> shape_of(const ir::v1::Tensor& t) {
  return std::vector<int64_t>(t.shape().begin(), t.shape().end());
}

bool has_scale(const ir::v1::Tensor* t) { return t && t->quantization().scale_size() > 0; }

bool is_quantized_weight(const ir::v1::Tensor* t) {
  return t && t->int_data_size() > 0 && has_scale(t);
}

bool is_adder_weight(const ir::v1::Tensor* t) {
  return t && t->structure().kind_case() == ir::v1::Structure::kAdder;
}

// Power-of-two weights (structure.pow2) whose exponents span at most 30: integer codes
// w * 2^-min_exponent are exact in int32, so the op runs as exact shifts of the activation codes.
bool is_shift_weight(const ir::v1::Tensor* t) {
  if (!t || t->structure().kind_case() != ir::v1::Structure::kPow2 || t->int_data_size() > 0 ||
      t->float_data_size() == 0)
    return false;
  const auto& p = t->structure().pow2();
  return p.max_exponent() >= p.min_exponent() && p.max_exponent() - p.min_exponent() <= 30;
}

// A pow2 weight as integer codes sign * 2^(p - min_exponent) with the scale 2^min_exponent.
IntWeight shift_weight(const ir::v1::Tensor& t) {
  IntWeight w;
  w.shape = shape_of(t);
  const int pmin = t.structure().pow2().min_exponent();
  w.q.reserve(static_cast<size_t>(t.float_data_size()));
  for (float v : t.float_data()) {
    const double code = std::ldexp(static_cast<double>(v), -pmin);
    if (code != std::nearbyint(code) || std::fabs(code) > 2147483647.0)
      throw sim::ConfigError("tensor '" + t.name() + "': value " + std::to_string(v) +
                             " is not 0 or +-2^p with p >= min_exponent " + std::to_string(pmin));
    w.q.push_back(static_cast<int32_t>(code));
  }
  w.scale = {static_cast<float>(std::ldexp(1.0, pmin))};
  w.zero_point = {0};
  return w;
}

// The integer codes and scales of a quantized weight, checked against its shape.
IntWeight int_weight(const ir::v1::Tensor& t) {
  const auto& q = t.quantization();
  IntWeight w;
  w.shape = shape_of(t);
  w.q.assign(t.int_data().begin(), t.int_data().end());
  w.scale.assign(q.scale().begin(), q.scale().end());
  w.zero_point.assign(q.zero_point().begin(), q.zero_point().end());
  if (w.scale.empty()) w.scale = {1.0f};
  if (w.zero_point.empty()) w.zero_point = {0};
  w.axis = q.axis();
  const std::string where = "tensor '" + t.name() + "'";
  if (static_cast<int64_t>(w.q.size()) != kernels::elements(w.shape))
    throw sim::ConfigError(where + ": int_data holds " + std::to_string(w.q.size()) +
                           " values but the shape " + kernels::shape_str(w.shape) + " has " +
                           std::to_string(kernels::elements(w.shape)));
  if (w.scale.size() > 1) {
    if (w.axis < 0 || w.axis >= static_cast<int>(w.shape.size()) ||
        static_cast<int64_t>(w.scale.size()) != w.shape[static_cast<size_t>(w.axis)])
      throw sim::ConfigError(where + ": " + std::to_string(w.scale.size()) +
                             " per-channel scales do not match axis " + std::to_string(w.axis) +
                             " of shape " + kernels::shape_str(w.shape));
  }
  if (w.zero_point.size() != 1 && w.zero_point.size() != w.scale.size())
    throw sim::ConfigError(where + ": needs one zero point or one per scale, has " +
                           std::to_string(w.zero_point.size()));
  return w;
}

// Float values of a constant: float_data, or the dequantized int_data.
Array constant_value(const ir::v1::Tensor& t) {
  Array a{shape_of(t), {}};
  if (t.float_data_size() > 0) {
    a.data.assign(t.float_data().begin(), t.float_data().end());
  } else {
    const IntWeight w = int_weight(t);
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(w.axis) + 1; d < w.shape.size(); ++d) inner *= w.shape[d];
    a.data.resize(w.q.size());
    for (size_t i = 0; i < w.q.size(); ++i) {
      const size_t c = w.scale.size() == 1
                           ? 0
                           : static_cast<size_t>((static_cast<int64_t>(i) / inner) %
                                                 w.shape[static_cast<size_t>(w.axis)]);
      const int32_t z = w.zero_point.size() == 1 ? w.zero_point[0] : w.zero_point[c];
      a.data[i] = static_cast<float>(static_cast<double>(w.scale[c]) *
                                     static_cast<double>(static_cast<int64_t>(w.q[i]) - z));
    }
  }
  if (a.size() != static_cast<int64_t>(a.data.size()))
    throw sim::ConfigError("tensor '" + t.name() + "': holds " + std::to_string(a.data.size()) +
                           " values but the shape " + kernels::shape_str(a.shape) + " has " +
                           std::to_string(a.size()));
  return a;
}

// The per-tensor quantization of an activation, with the integer range of its dtype and bits.
ActivationQuant activation_quant(const ir::v1::Tensor& t) {
  const std::string where = "activation '" + t.name() + "'";
  const auto& q = t.quantization();
  if (q.scale_size() != 1 || q.zero_point_size() > 1)
    throw sim::ConfigError(where +
                           ": integer arithmetic needs one (per-tensor) scale and zero "
                           "point, not " +
                           std::to_string(q.scale_size()) + " scales");
  if (!(q.scale(0) > 0))
    throw sim::ConfigError(where + ": scale must be > 0 (is " + std::to_string(q.scale(0)) + ")");
  const bool is_signed = t.dtype() == ir::v1::INT;
  if ((!is_signed && t.dtype() != ir::v1::UINT) || t.bits() < (is_signed ? 2u : 1u) ||
      t.bits() > 32)
    throw sim::ConfigError(where +
                           ": a quantized activation needs dtype INT (2..32 bits) or UINT "
                           "(1..32 bits); it has dtype " +
                           ir::v1::DType_Name(t.dtype()) + " and " + std::to_string(t.bits()) +
                           " bits");
  ActivationQuant a;
  a.scale = q.scale(0);
  a.zero_point = q.zero_point_size() ? q.zero_point(0) : 0;
  a.lo = is_signed ? -(int64_t{1} << (t.bits() - 1)) : 0;
  a.hi = is_signed ? (int64_t{1} << (t.bits() - 1)) - 1 : (int64_t{1} << t.bits()) - 1;
  return a;
}

// The integer codes an integer gemm/conv2d multiplies by: quantized codes, or pow2 shift codes.
IntWeight weight_codes(const ir::v1::Tensor& t) {
  return is_quantized_weight(&t) ? int_weight(t) : shift_weight(t);
}

const Array* optional(const std::vector<const Array*>& in, size_t i) {
  return i < in.size() ? in[i] : nullptr;
}

}  // namespace

Executor::Executor(const ir::v1::Workload& w, Arithmetic a) : w_(w), arithmetic_(a) {
  for (int i = 0; i < w_.tensors_size(); ++i) tensor_index_.emplace(w_.tensors(i).name(), i);
  std::set<std::string> produced;
  for (const auto& op : w_.ops()) produced.insert(op.outputs().begin(), op.outputs().end());
  for (const auto& t : w_.tensors())
    if ((t.float_data_size() > 0 || t.int_data_size() > 0) && !produced.count(t.name()))
      constants_.emplace(t.name(), constant_value(t));
  if (w_.inputs_size() > 0) {
    const ir::v1::Tensor* in = tensor(w_.inputs(0));
    if (in && in->shape_size() > 0) declared_batch_ = in->shape(0);
  }
}

const ir::v1::Tensor* Executor::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &w_.tensors(it->second);
}

bool Executor::runs_integer(const ir::v1::Op& op) const {
  if (arithmetic_ != Arithmetic::kInteger) return false;
  if (op.kind_case() != ir::v1::Op::kGemm && op.kind_case() != ir::v1::Op::kConv2D) return false;
  if (op.inputs_size() < 2 || !has_scale(tensor(op.inputs(0)))) return false;
  const ir::v1::Tensor* w = tensor(op.inputs(1));
  return is_quantized_weight(w) || is_shift_weight(w) || is_adder_weight(w);
}

std::vector<std::string> Executor::integer_ops() const {
  std::vector<std::string> names;
  for (const auto& op : w_.ops())
    if (runs_integer(op)) names.push_back(op.name());
  return names;
}

std::vector<int64_t> Executor::output_shape(const std::string& name, int64_t elements) const {
  const ir::v1::Tensor* t = tensor(name);
  if (!t || t->shape_size() == 0) return {};
  std::vector<int64_t> shape = shape_of(*t);
  if (kernels::elements(shape) == elements) return shape;
  // Another batch than declared: resize the one axis of the declared batch size. With none, or
  // several (e.g. [1, 1, 128] declared for batch 1), the batch axis is unknown.
  if (declared_batch_ <= 0 || std::count(shape.begin(), shape.end(), declared_batch_) != 1)
    return {};
  int64_t& axis = *std::find(shape.begin(), shape.end(), declared_batch_);
  const int64_t rest = kernels::elements(shape) / axis;
  if (rest <= 0 || elements % rest != 0) return {};
  axis = elements / rest;
  return shape;
}

std::vector<Array> Executor::run_op(const ir::v1::Op& op,
                                    const std::vector<const Array*>& inputs) const {
  std::vector<const Array*> in(static_cast<size_t>(op.inputs_size()));
  for (size_t i = 0; i < in.size(); ++i) {
    if (i < inputs.size() && inputs[i]) {
      in[i] = inputs[i];
      continue;
    }
    const std::string& name = op.inputs(static_cast<int>(i));
    auto it = constants_.find(name);
    if (it != constants_.end()) {
      in[i] = &it->second;
      continue;
    }
    const ir::v1::Tensor* t = tensor(name);
    if (t && t->is_weight())
      op_error(op, "weight '" + name +
                       "' has no data; a shape-only workload (zoo, YAML op list) "
                       "cannot be executed: use one with weights, e.g. imported from ONNX");
    op_error(op, "input '" + name +
                     "' has no value: it is neither given, nor computed by an "
                     "earlier op, nor a constant of the workload");
  }
  std::vector<Array> out;
  try {
    out = run_kind(op, in);
  } catch (const kernels::KernelError& e) {
    op_error(op, e.what());
  }
  if (op.outputs_size() > 0 && out.size() > static_cast<size_t>(op.outputs_size()))
    out.resize(static_cast<size_t>(op.outputs_size()));
  for (size_t j = 0; j < out.size() && j < static_cast<size_t>(op.outputs_size()); ++j) {
    // The declared shape when it holds the same data (a view), or when the computed shape has
    // another rank (e.g. a gather that drops an axis) and the batch can be resized in it.
    const std::vector<int64_t> declared =
        output_shape(op.outputs(static_cast<int>(j)), out[j].size());
    if (declared.empty() || declared == out[j].shape) continue;
    const ir::v1::Tensor* t = tensor(op.outputs(static_cast<int>(j)));
    if (ir::tensor_elements(*t) == out[j].size() || declared.size() != out[j].shape.size())
      out[j].shape = declared;
  }
  return out;
}

std::vector<Array> Executor::run_kind(const ir::v1::Op& op,
                                      const std::vector<const Array*>& in) const {
  const auto need = [&](size_t n) {
    if (in.size() < n)
      throw kernels::KernelError("needs " + std::to_string(n) + " inputs, has " +
                                 std::to_string(in.size()));
  };
  switch (op.kind_case()) {
    case ir::v1::Op::kGemm:
      need(2);
      if (is_adder_weight(tensor(op.inputs(1)))) {
        const bool integer = runs_integer(op);
        const ActivationQuant q =
            integer ? activation_quant(*tensor(op.inputs(0))) : ActivationQuant{};
        return {kernels::gemm_adder(*in[0], *in[1], optional(in, 2), op.gemm(),
                                    integer ? &q : nullptr)};
      }
      if (runs_integer(op))
        return {kernels::gemm_integer(*in[0], activation_quant(*tensor(op.inputs(0))),
                                      weight_codes(*tensor(op.inputs(1))), optional(in, 2),
                                      op.gemm())};
      return {kernels::gemm(*in[0], *in[1], optional(in, 2), op.gemm())};
    case ir::v1::Op::kConv2D:
      need(2);
      if (is_adder_weight(tensor(op.inputs(1)))) {
        const bool integer = runs_integer(op);
        const ActivationQuant q =
            integer ? activation_quant(*tensor(op.inputs(0))) : ActivationQuant{};
        return {kernels::conv2d_adder(*in[0], *in[1], optional(in, 2), op.conv2d(),
                                      integer ? &q : nullptr)};
      }
      if (runs_integer(op))
        return {kernels::conv2d_integer(*in[0], activation_quant(*tensor(op.inputs(0))),
                                        weight_codes(*tensor(op.inputs(1))), optional(in, 2),
                                        op.conv2d())};
      return {kernels::conv2d(*in[0], *in[1], optional(in, 2), op.conv2d())};
    case ir::v1::Op::kLstmCell:
      need(3);
      return kernels::lstm_cell(*in[0], *in[1], *in[2], optional(in, 3), op.lstm_cell());
    case ir::v1::Op::kButterfly: {
      need(2);
      const ir::v1::Tensor* out = op.outputs_size() ? tensor(op.outputs(0)) : nullptr;
      const int64_t width = out && out->shape_size() ? out->shape(out->shape_size() - 1) : 0;
      return {kernels::butterfly(*in[0], *in[1], op.butterfly(), width)};
    }
    case ir::v1::Op::kFft:
      need(1);
      return {kernels::fft(*in[0], op.fft())};
    case ir::v1::Op::kEinsum:
      need(2);
      return {kernels::einsum(*in[0], *in[1], op.einsum())};
    case ir::v1::Op::kSoftmax:
      need(1);
      return {kernels::softmax(*in[0], op.softmax())};
    case ir::v1::Op::kLayernorm:
      need(1);
      return {kernels::layernorm(*in[0], optional(in, 1), optional(in, 2), op.layernorm())};
    case ir::v1::Op::kEltwise:
      return {kernels::eltwise(in, op.eltwise().func())};
    case ir::v1::Op::kPool:
      need(1);
      return {kernels::pool(*in[0], op.pool())};
    case ir::v1::Op::kReshape: {
      need(1);
      const std::vector<int64_t> shape =
          op.outputs_size() ? output_shape(op.outputs(0), in[0]->size()) : std::vector<int64_t>{};
      if (shape.empty())
        throw kernels::KernelError(
            "the declared output shape does not fit the input " + kernels::shape_str(in[0]->shape) +
            " and has no single axis of the declared batch (" + std::to_string(declared_batch_) +
            ") to resize; build or import the workload for "
            "the batch it runs");
      return {Array{shape, in[0]->data}};
    }
    case ir::v1::Op::kTranspose:
      need(1);
      return {kernels::transpose(*in[0], std::vector<int64_t>(op.transpose().perm().begin(),
                                                              op.transpose().perm().end()))};
    case ir::v1::Op::kReduce:
      need(1);
      return {kernels::reduce(*in[0], op.reduce())};
    case ir::v1::Op::kConcat:
      return {kernels::concat(in, op.concat().axis())};
    case ir::v1::Op::kSlice:
      need(1);
      return {kernels::slice(*in[0], op.slice())};
    case ir::v1::Op::kGeneric:
      throw kernels::KernelError("a generic op (ONNX '" + op.generic().op_type() +
                                 "') carries only traffic, no semantics, and cannot be executed");
    case ir::v1::Op::KIND_NOT_SET:
      break;
  }
  throw kernels::KernelError("the op has no kind");
}

std::map<std::string, Array> Executor::run(const std::map<std::string, Array>& inputs) const {
  std::map<std::string, Array> values;
  for (const auto& op : w_.ops()) {
    std::vector<const Array*> in;
    for (const auto& name : op.inputs()) {
      auto computed = values.find(name);
      auto given = inputs.find(name);
      in.push_back(computed != values.end() ? &computed->second
                   : given != inputs.end()  ? &given->second
                                            : nullptr);
    }
    std::vector<Array> out = run_op(op, in);
    for (size_t j = 0; j < out.size(); ++j)
      values[op.outputs(static_cast<int>(j))] = std::move(out[j]);
  }
  return values;
}

}  // namespace codesim::compress
