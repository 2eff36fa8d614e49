#include "workloads/zoo/builder.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

ir::v1::EltwiseFunc activation_func(const std::string& name) {
  if (name == "relu") return ir::v1::RELU;
  if (name == "relu6") return ir::v1::RELU6;
  if (name == "gelu") return ir::v1::GELU;
  if (name == "sigmoid") return ir::v1::SIGMOID;
  if (name == "tanh") return ir::v1::TANH;
  return ir::v1::ELTWISE_UNSPECIFIED;
}

}  // namespace

const sim::ParamSchema<MlpParams>& MlpParams::schema() {
  static const auto s = sim::ParamSchema<MlpParams>()
                            .integer("batch", &MlpParams::batch, "input vectors per inference")
                            .def(1)
                            .min(1)
                            .choice("activation", &MlpParams::activation,
                                    {"relu", "relu6", "gelu", "sigmoid", "tanh", "none"},
                                    "element-wise activation after every layer but the last")
                            .def("relu");
  return s;
}

std::vector<ParamProblem> MlpParams::problems() const {
  if (sizes.size() < 2) return {{"sizes", "needs at least two sizes (input and output)"}};
  for (size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] < 1)
      return {{"sizes", "size [" + std::to_string(i) + "] must be >= 1 (is " +
                            std::to_string(sizes[i]) + ")"}};
  return {};
}

ir::v1::Workload build_mlp(const MlpParams& p) {
  WorkloadBuilder b("mlp");
  std::string x = b.input("input", {p.batch, p.sizes.front()});
  const ir::v1::EltwiseFunc act = activation_func(p.activation);
  for (size_t i = 0; i + 1 < p.sizes.size(); ++i) {
    const std::string name = "fc" + std::to_string(i);
    x = b.linear(name, x, 1, p.batch, p.sizes[i + 1], p.sizes[i], true);
    if (i + 2 < p.sizes.size() && act != ir::v1::ELTWISE_UNSPECIFIED)
      x = b.eltwise(name + "." + p.activation, act, {x});
  }
  b.mark_output(x);
  return b.finish();
}

}  // namespace codesim::workloads
