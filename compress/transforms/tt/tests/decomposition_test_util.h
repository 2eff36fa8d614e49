#pragma once
// Workloads shared by the tt and ht tests.

#include <string>

#include "compress/tests/compress_test_util.h"

namespace codesim::compress::testing {

// x [batch, steps, I] -> transpose -> [steps, batch, I] -> lstm_cell (W_ih [4H, I],
// W_hh [4H, H], bias [4H]) -> Y, h, c. The batch leads the input, as in a batch-first ONNX export,
// so that calibration and evaluation can run other batch sizes.
inline ir::v1::Workload lstm(int64_t steps, int64_t batch, int64_t input, int64_t hidden) {
  ir::v1::Workload w;
  w.set_name("lstm");
  *w.add_tensors() = make_tensor("x", {batch, steps, input}, false);
  w.add_inputs("x");
  auto* tr = w.add_ops();
  tr->set_name("to_time_major");
  tr->add_inputs("x");
  tr->add_outputs("xt");
  for (int64_t a : {1, 0, 2}) tr->mutable_transpose()->add_perm(a);
  *w.add_tensors() = make_tensor("xt", {steps, batch, input}, false);
  auto* op = w.add_ops();
  op->set_name("lstm");
  for (const char* in : {"xt", "lstm.weight_ih", "lstm.weight_hh", "lstm.bias"}) op->add_inputs(in);
  for (const char* out : {"y", "h", "c"}) op->add_outputs(out);
  auto* l = op->mutable_lstm_cell();
  l->set_batch(batch);
  l->set_input_size(input);
  l->set_hidden_size(hidden);
  l->set_steps(steps);
  ir::v1::Tensor wih = make_tensor("lstm.weight_ih", {4 * hidden, input}, true);
  ir::v1::Tensor whh = make_tensor("lstm.weight_hh", {4 * hidden, hidden}, true);
  ir::v1::Tensor b = make_tensor("lstm.bias", {4 * hidden}, true);
  for (float v : random_values(4 * hidden * input, 11, 0.2f)) wih.add_float_data(v);
  for (float v : random_values(4 * hidden * hidden, 12, 0.2f)) whh.add_float_data(v);
  for (float v : random_values(4 * hidden, 13, 0.1f)) b.add_float_data(v);
  *w.add_tensors() = wih;
  *w.add_tensors() = whh;
  *w.add_tensors() = b;
  *w.add_tensors() = make_tensor("y", {steps, batch, hidden}, false);
  *w.add_tensors() = make_tensor("h", {batch, hidden}, false);
  *w.add_tensors() = make_tensor("c", {batch, hidden}, false);
  w.add_outputs("y");
  return w;
}

}  // namespace codesim::compress::testing
