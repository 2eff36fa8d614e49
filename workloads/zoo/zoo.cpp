#include "workloads/zoo/zoo.h"

#include <sstream>

namespace codesim::workloads {

namespace {

void report_problems(const std::vector<ParamProblem>& problems, const YAML::Node& node,
                     const std::string& file, const std::string& path, sim::Diagnostics& diags) {
  for (const auto& [key, message] : problems) {
    const YAML::Node at = (node && node.IsMap() && node[key]) ? node[key] : node;
    diags.error_at(file, at, sim::join_path(path, key), message);
  }
}

// Parses P from `node` (after `preprocess`), checks its cross-parameter problems and builds.
template <class P>
ZooEntry make_entry(const std::string& name, const std::string& summary,
                    ir::v1::Workload (*build)(const P&),
                    YAML::Node (*preprocess)(const YAML::Node&) = nullptr) {
  ZooEntry e;
  e.name = name;
  e.summary = summary;
  e.params = P::schema().infos();
  e.build = [build, preprocess](const YAML::Node& node, const std::string& file,
                                const std::string& path, sim::Diagnostics& diags) {
    const size_t before = diags.size();
    const YAML::Node given = preprocess ? preprocess(node) : node;
    const P p = P::schema().parse(given, file, path, diags, {"zoo"});
    if (diags.size() != before) return ir::v1::Workload();
    report_problems(p.problems(), node, file, path, diags);
    if (diags.size() != before) return ir::v1::Workload();
    return build(p);
  };
  return e;
}

std::string sizes_text(const std::vector<int64_t>& sizes) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < sizes.size(); ++i) os << (i ? ", " : "") << sizes[i];
  os << ']';
  return os.str();
}

// MLP needs a list parameter, which ParamSchema cannot declare, so its entry parses `sizes`
// itself and documents it next to the schema's parameters.
ZooEntry mlp_entry() {
  ZooEntry e;
  e.name = "mlp";
  e.summary = "multi-layer perceptron: linear layers with biases and an activation between them";
  sim::ParamInfo sizes;
  sizes.name = "sizes";
  sizes.type = sim::ParamType::kInt;
  sizes.default_text = sizes_text(MlpParams().sizes);
  sizes.min = 1;
  sizes.doc = "list of layer widths, input first (at least two)";
  e.params = {sizes};
  for (const auto& info : MlpParams::schema().infos()) e.params.push_back(info);
  e.build = [](const YAML::Node& node, const std::string& file, const std::string& path,
               sim::Diagnostics& diags) {
    const size_t before = diags.size();
    MlpParams p = MlpParams::schema().parse(node, file, path, diags, {"zoo", "sizes"});
    const YAML::Node given = (node && node.IsMap()) ? node["sizes"] : YAML::Node();
    if (given && !given.IsNull()) {
      const std::string sizes_path = sim::join_path(path, "sizes");
      if (!given.IsSequence()) {
        diags.error_at(file, given, sizes_path, "expected a list of layer widths",
                       "e.g. sizes: [784, 256, 10]");
      } else {
        p.sizes.clear();
        for (size_t i = 0; i < given.size(); ++i) {
          int64_t v = 0;
          if (sim::read_int(given[i], file, sizes_path + "[" + std::to_string(i) + "]", diags, v))
            p.sizes.push_back(v);
        }
      }
    }
    if (diags.size() != before) return ir::v1::Workload();
    report_problems(p.problems(), node, file, path, diags);
    if (diags.size() != before) return ir::v1::Workload();
    return build_mlp(p);
  };
  return e;
}

}  // namespace

const std::vector<ZooEntry>& zoo_models() {
  static const std::vector<ZooEntry> models = {
      make_entry<BertParams>("bert", "BERT encoder stack (no embeddings), post-norm", build_bert),
      make_entry<VitParams>("vit", "Vision Transformer (torchvision vit_b_16 / vit_l_16)",
                            build_vit),
      make_entry<ResNet50Params>("resnet50", "torchvision ResNet-50 v1.5, batch norm folded",
                                 build_resnet50),
      make_entry<MobileNetV2Params>("mobilenetv2", "torchvision MobileNetV2, batch norm folded",
                                    build_mobilenetv2),
      make_entry<FbnetCifarParams>(
          "fbnet_cifar",
          "NASA's FBNet-style CIFAR supernet, one (expansion, kernel) or skip per searchable layer",
          build_fbnet_cifar),
      mlp_entry(),
      make_entry<LstmParams>("lstm",
                             "stacked LSTM with a classifier; presets for the UCF11 and YouTube "
                             "Celebrities video LSTMs",
                             build_lstm, &LstmParams::apply_preset),
      make_entry<FabnetParams>("fabnet",
                               "FABNet: FFT-mixing blocks and butterfly FFNs (optionally "
                               "butterfly-attention blocks)",
                               build_fabnet),
  };
  return models;
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const auto& e : zoo_models()) names.push_back(e.name);
  return names;
}

const ZooEntry* find_zoo(const std::string& name) {
  for (const auto& e : zoo_models())
    if (e.name == name) return &e;
  return nullptr;
}

ir::v1::Workload build_zoo(const std::string& name, const YAML::Node& params,
                           const std::string& file, const std::string& path,
                           sim::Diagnostics& diags) {
  const ZooEntry* e = find_zoo(name);
  if (!e) {
    const YAML::Node at = (params && params.IsMap() && params["zoo"]) ? params["zoo"] : params;
    diags.error_at(file, at, sim::join_path(path, "zoo"), "unknown zoo model '" + name + "'",
                   sim::did_you_mean(name, zoo_names()));
    return ir::v1::Workload();
  }
  return e->build(params, file, path, diags);
}

}  // namespace codesim::workloads
