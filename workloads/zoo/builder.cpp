#include "workloads/zoo/builder.h"

#include <algorithm>
#include <stdexcept>

#include "workloads/ir/ir.h"

namespace codesim::workloads {

int64_t pow2_ceil(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

int64_t log2_exact(int64_t n) {
  int64_t l = 0;
  while ((int64_t{1} << l) < n) ++l;
  return l;
}

Shape einsum_shape(const ir::v1::Einsum& spec, int operand) {
  const std::string& eq = spec.equation();
  const size_t comma = eq.find(',');
  const size_t arrow = eq.find("->");
  std::string letters;
  if (operand == 0)
    letters = eq.substr(0, comma);
  else if (operand == 1)
    letters = comma == std::string::npos ? "" : eq.substr(comma + 1, arrow - comma - 1);
  else
    letters = arrow == std::string::npos ? "" : eq.substr(arrow + 2);
  Shape shape;
  for (char ch : letters) {
    if (ch == ' ') continue;
    int64_t size = 1;
    for (const auto& ix : spec.indices())
      if (ix.name().size() == 1 && ix.name()[0] == ch) size = ix.size();
    shape.push_back(size);
  }
  return shape;
}

WorkloadBuilder::WorkloadBuilder(const std::string& name) { w_.set_name(name); }

std::string WorkloadBuilder::add_tensor(const std::string& name, const Shape& shape,
                                        bool is_weight) {
  if (!tensor_index_.emplace(name, w_.tensors_size()).second)
    throw std::logic_error("WorkloadBuilder: tensor '" + name + "' declared twice");
  ir::v1::Tensor* t = w_.add_tensors();
  t->set_name(name);
  for (int64_t d : shape) t->add_shape(d);
  t->set_dtype(ir::v1::FLOAT32);
  t->set_bits(32);
  t->set_is_weight(is_weight);
  return name;
}

ir::v1::Op* WorkloadBuilder::add_op(const std::string& name, const std::vector<std::string>& inputs,
                                    const std::string& output) {
  if (!op_names_.insert(name).second)
    throw std::logic_error("WorkloadBuilder: op '" + name + "' added twice");
  ir::v1::Op* op = w_.add_ops();
  op->set_name(name);
  for (const auto& in : inputs) {
    if (!tensor_index_.count(in))
      throw std::logic_error("WorkloadBuilder: op '" + name + "' reads unknown tensor '" + in +
                             "'");
    op->add_inputs(in);
  }
  op->add_outputs(output);
  return op;
}

const ir::v1::Tensor& WorkloadBuilder::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end())
    throw std::logic_error("WorkloadBuilder: unknown tensor '" + name + "'");
  return w_.tensors(it->second);
}

std::string WorkloadBuilder::input(const std::string& name, const Shape& shape) {
  add_tensor(name, shape, false);
  w_.add_inputs(name);
  return name;
}

std::string WorkloadBuilder::weight(const std::string& op, const std::string& role,
                                    const Shape& shape) {
  return add_tensor(op + "." + role, shape, true);
}

void WorkloadBuilder::mark_output(const std::string& tensor_name) {
  tensor(tensor_name);
  w_.add_outputs(tensor_name);
}

ir::v1::Workload WorkloadBuilder::finish() {
  ir::v1::Workload out;
  out.Swap(&w_);
  tensor_index_.clear();
  op_names_.clear();
  return out;
}

std::string WorkloadBuilder::linear(const std::string& op, const std::string& a, int64_t batch,
                                    int64_t m, int64_t n, int64_t k, bool bias) {
  std::vector<std::string> inputs = {a, weight(op, "weight", {k, n})};
  if (bias) inputs.push_back(weight(op, "bias", {n}));
  const std::string out =
      add_tensor(op + ".out", batch > 1 ? Shape{batch, m, n} : Shape{m, n}, false);
  auto* g = add_op(op, inputs, out)->mutable_gemm();
  g->set_batch(batch);
  g->set_m(m);
  g->set_n(n);
  g->set_k(k);
  return out;
}

std::string WorkloadBuilder::matmul(const std::string& op, const std::string& a,
                                    const std::string& b, int64_t batch, int64_t m, int64_t n,
                                    int64_t k) {
  const std::string out = add_tensor(op + ".out", {batch, m, n}, false);
  auto* g = add_op(op, {a, b}, out)->mutable_gemm();
  g->set_batch(batch);
  g->set_m(m);
  g->set_n(n);
  g->set_k(k);
  return out;
}

std::string WorkloadBuilder::conv2d(const std::string& op, const std::string& x,
                                    const ir::v1::Conv2d& spec, bool bias) {
  const int64_t groups = spec.groups() < 1 ? 1 : spec.groups();
  std::vector<std::string> inputs = {
      x,
      weight(op, "weight", {spec.filters(), spec.c() / groups, spec.kernel_h(), spec.kernel_w()})};
  if (bias) inputs.push_back(weight(op, "bias", {spec.filters()}));
  const int64_t oh = ir::conv_out_dim(spec.h(), spec.kernel_h(), spec.stride_h(), spec.pad_top(),
                                      spec.pad_bottom(), std::max<int64_t>(1, spec.dilation_h()));
  const int64_t ow = ir::conv_out_dim(spec.w(), spec.kernel_w(), spec.stride_w(), spec.pad_left(),
                                      spec.pad_right(), std::max<int64_t>(1, spec.dilation_w()));
  const std::string out = add_tensor(op + ".out", {spec.batch(), spec.filters(), oh, ow}, false);
  *add_op(op, inputs, out)->mutable_conv2d() = spec;
  return out;
}

std::string WorkloadBuilder::butterfly(const std::string& op, const std::string& x,
                                       const ir::v1::Butterfly& spec, int64_t out_width) {
  const std::string twiddles =
      weight(op, "weight", {spec.stacks(), spec.stages(), spec.length() / 2, 2, 2});
  const std::string out = add_tensor(op + ".out", {spec.batch(), out_width}, false);
  *add_op(op, {x, twiddles}, out)->mutable_butterfly() = spec;
  return out;
}

std::string WorkloadBuilder::butterfly_linear(const std::string& op, const std::string& x,
                                              int64_t rows, int64_t in, int64_t out) {
  ir::v1::Butterfly spec;
  spec.set_batch(rows);
  spec.set_length(pow2_ceil(in));
  spec.set_stages(log2_exact(spec.length()));
  spec.set_stacks((out + spec.length() - 1) / spec.length());
  return butterfly(op, x, spec, out);
}

std::string WorkloadBuilder::fft(const std::string& op, const std::string& x,
                                 const ir::v1::Fft& spec) {
  const auto& in = tensor(x);
  const std::string out =
      add_tensor(op + ".out", Shape(in.shape().begin(), in.shape().end()), false);
  *add_op(op, {x}, out)->mutable_fft() = spec;
  return out;
}

std::string WorkloadBuilder::einsum(const std::string& op, const std::string& a,
                                    const std::string& b, const ir::v1::Einsum& spec) {
  const std::string out = add_tensor(op + ".out", einsum_shape(spec, 2), false);
  *add_op(op, {a, b}, out)->mutable_einsum() = spec;
  return out;
}

std::string WorkloadBuilder::softmax(const std::string& op, const std::string& x, int64_t rows,
                                     int64_t length) {
  const auto& in = tensor(x);
  const std::string out =
      add_tensor(op + ".out", Shape(in.shape().begin(), in.shape().end()), false);
  auto* s = add_op(op, {x}, out)->mutable_softmax();
  s->set_rows(rows);
  s->set_length(length);
  return out;
}

std::string WorkloadBuilder::layernorm(const std::string& op, const std::string& x, int64_t rows,
                                       int64_t length) {
  const auto& in = tensor(x);
  const Shape shape(in.shape().begin(), in.shape().end());
  const std::string gamma = weight(op, "weight", {length});
  const std::string beta = weight(op, "bias", {length});
  const std::string out = add_tensor(op + ".out", shape, false);
  auto* l = add_op(op, {x, gamma, beta}, out)->mutable_layernorm();
  l->set_rows(rows);
  l->set_length(length);
  return out;
}

std::string WorkloadBuilder::eltwise(const std::string& op, ir::v1::EltwiseFunc func,
                                     const std::vector<std::string>& inputs,
                                     const Shape& out_shape) {
  const std::string out = add_tensor(op + ".out", out_shape, false);
  auto* e = add_op(op, inputs, out)->mutable_eltwise();
  e->set_func(func);
  int64_t elements = 1;
  for (int64_t d : out_shape) elements *= d;
  e->set_elements(elements);
  return out;
}

std::string WorkloadBuilder::eltwise(const std::string& op, ir::v1::EltwiseFunc func,
                                     const std::vector<std::string>& inputs) {
  const auto& first = tensor(inputs.at(0));
  return eltwise(op, func, inputs, Shape(first.shape().begin(), first.shape().end()));
}

std::string WorkloadBuilder::pool(const std::string& op, const std::string& x,
                                  const ir::v1::Pool& spec) {
  int64_t oh = 1, ow = 1;
  if (spec.kind() != ir::v1::GLOBAL_AVG) {
    oh =
        ir::conv_out_dim(spec.h(), spec.kernel_h(), spec.stride_h(), spec.pad_h(), spec.pad_h(), 1);
    ow =
        ir::conv_out_dim(spec.w(), spec.kernel_w(), spec.stride_w(), spec.pad_w(), spec.pad_w(), 1);
  }
  const std::string out = add_tensor(op + ".out", {spec.batch(), spec.c(), oh, ow}, false);
  *add_op(op, {x}, out)->mutable_pool() = spec;
  return out;
}

std::string WorkloadBuilder::lstm_cell(const std::string& op, const std::string& x,
                                       const ir::v1::LstmCell& spec, bool bias) {
  const int64_t gates = 4 * spec.hidden_size();
  std::vector<std::string> inputs = {x, weight(op, "weight_ih", {gates, spec.input_size()}),
                                     weight(op, "weight_hh", {gates, spec.hidden_size()})};
  if (bias) inputs.push_back(weight(op, "bias", {gates}));
  const std::string out =
      add_tensor(op + ".out", {spec.steps(), spec.batch(), spec.hidden_size()}, false);
  *add_op(op, inputs, out)->mutable_lstm_cell() = spec;
  return out;
}

std::string WorkloadBuilder::generic(const std::string& op, const std::string& op_type,
                                     const std::string& x, const Shape& out_shape) {
  const auto& in = tensor(x);
  const int64_t read_bytes = ir::tensor_elements(in) * in.bits() / 8;
  const std::string out = add_tensor(op + ".out", out_shape, false);
  const int64_t written_bytes = ir::tensor_elements(tensor(out)) * tensor(out).bits() / 8;
  auto* g = add_op(op, {x}, out)->mutable_generic();
  g->set_op_type(op_type);
  g->set_bytes_read(read_bytes);
  g->set_bytes_written(written_bytes);
  return out;
}

}  // namespace codesim::workloads
