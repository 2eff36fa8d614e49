#pragma once
// The workload zoo: parametric builders of published networks. Each model declares its
// parameters once (a ParamSchema), can be built from C++ with typed parameters, and is loadable
// by name from a workload YAML file (`workload: {zoo: bert, variant: base, seq_len: 128}`).
// Weights are shape-only; the ops and tensors follow workloads/zoo/builder.h.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/diagnostics.h"
#include "sim/core/params.h"
#include "workload.pb.h"

namespace codesim::workloads {

// A cross-parameter problem: the offending key and the message.
using ParamProblem = std::pair<std::string, std::string>;

// BERT encoder stack (no embeddings, no pooler): post-norm layers with separate Q, K, V
// projections. Devlin et al., NAACL 2019.
struct BertParams {
  std::string variant;
  int64_t seq_len = 0;
  int64_t batch = 0;
  static const sim::ParamSchema<BertParams>& schema();
  std::vector<ParamProblem> problems() const { return {}; }
};
ir::v1::Workload build_bert(const BertParams& p);

// Vision Transformer as in torchvision (vit_b_16, vit_l_16): conv patch embedding, class token,
// position embedding, pre-norm encoder, final norm, linear head on the class token.
struct VitParams {
  std::string variant;
  int64_t image = 0;
  int64_t patch = 0;
  int64_t classes = 0;
  int64_t batch = 0;
  static const sim::ParamSchema<VitParams>& schema();
  std::vector<ParamProblem> problems() const;
};
ir::v1::Workload build_vit(const VitParams& p);

// torchvision ResNet-50 (v1.5: the stride sits in the 3x3 conv of a bottleneck), batch norm
// folded into conv biases.
struct ResNet50Params {
  int64_t image = 0;
  int64_t classes = 0;
  int64_t batch = 0;
  static const sim::ParamSchema<ResNet50Params>& schema();
  std::vector<ParamProblem> problems() const { return {}; }
};
ir::v1::Workload build_resnet50(const ResNet50Params& p);

// torchvision MobileNetV2 (Sandler et al., CVPR 2018), batch norm folded into conv biases.
struct MobileNetV2Params {
  double width = 0;
  int64_t image = 0;
  int64_t classes = 0;
  int64_t batch = 0;
  static const sim::ParamSchema<MobileNetV2Params>& schema();
  std::vector<ParamProblem> problems() const { return {}; }
};
ir::v1::Workload build_mobilenetv2(const MobileNetV2Params& p);

// NASA's FBNet-style CIFAR supernet (Shi et al., ICCAD 2022) with one candidate block chosen per
// searchable layer; see fbnet_cifar.cpp.
struct FbnetCifarParams {
  int64_t expansion = 0;
  int64_t kernel = 0;
  std::string blocks;
  int64_t image = 0;
  int64_t classes = 0;
  int64_t batch = 0;
  static const sim::ParamSchema<FbnetCifarParams>& schema();
  std::vector<ParamProblem> problems() const;
};
ir::v1::Workload build_fbnet_cifar(const FbnetCifarParams& p);

// Multi-layer perceptron: a linear layer (with bias) between consecutive sizes, the activation
// between layers.
struct MlpParams {
  // ParamSchema has no list type, so `sizes` is parsed separately; this is its default.
  std::vector<int64_t> sizes = {784, 256, 256, 10};
  int64_t batch = 0;
  std::string activation;
  static const sim::ParamSchema<MlpParams>& schema();
  std::vector<ParamProblem> problems() const;
};
ir::v1::Workload build_mlp(const MlpParams& p);

// Stacked LSTM over a sequence (one lstm_cell op per layer, with steps) and an optional linear
// classifier on the last hidden state. The named variants are the raw-pixel video LSTMs of the
// TT-LSTM / FDHT-LSTM papers.
struct LstmParams {
  std::string variant;
  int64_t input = 0;
  int64_t hidden = 0;
  int64_t steps = 0;
  int64_t batch = 0;
  int64_t layers = 0;
  int64_t classes = 0;
  static const sim::ParamSchema<LstmParams>& schema();
  // `node` with the values of its named variant (ucf11, youtube_celebrities) filled in for the
  // keys it does not set, so that an explicit key wins over the variant.
  static YAML::Node apply_preset(const YAML::Node& node);
  // The parameters of a named variant with the other defaults.
  static LstmParams preset(const std::string& variant);
  std::vector<ParamProblem> problems() const { return {}; }
};
ir::v1::Workload build_lstm(const LstmParams& p);

// FABNet (Fan et al., MICRO 2022): FBfly blocks (2-D FFT mixing + butterfly FFN) followed by
// `abfly_layers` ABfly blocks (butterfly projections around softmax attention).
struct FabnetParams {
  std::string variant;
  int64_t seq_len = 0;
  int64_t abfly_layers = 0;
  int64_t batch = 0;
  static const sim::ParamSchema<FabnetParams>& schema();
  std::vector<ParamProblem> problems() const;
};
ir::v1::Workload build_fabnet(const FabnetParams& p);

// The defaults of a model's parameters, for building from C++.
template <class P>
P zoo_defaults() {
  sim::Diagnostics unused;
  return P::schema().parse(YAML::Node(), "", "", unused);
}

struct ZooEntry {
  std::string name;
  std::string summary;
  std::vector<sim::ParamInfo> params;
  // Parses the parameters in `node` (key `zoo` is skipped) and builds the workload. Problems go
  // to `diags`; the result is meaningful only when none was added.
  std::function<ir::v1::Workload(const YAML::Node& node, const std::string& file,
                                 const std::string& path, sim::Diagnostics& diags)>
      build;
};

const std::vector<ZooEntry>& zoo_models();
std::vector<std::string> zoo_names();
// nullptr when there is no such model.
const ZooEntry* find_zoo(const std::string& name);
// Builds zoo model `name` from the parameters in `params`; an unknown name or bad parameters are
// recorded in `diags` with their location (the result is then meaningless).
ir::v1::Workload build_zoo(const std::string& name, const YAML::Node& params,
                           const std::string& file, const std::string& path,
                           sim::Diagnostics& diags);

}  // namespace codesim::workloads
