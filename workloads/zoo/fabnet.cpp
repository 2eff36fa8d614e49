// FABNet (Fan et al., "Adaptable Butterfly Accelerator for Attention-based NNs via Hardware and
// Algorithm Co-design", MICRO 2022). Layer semantics follow the authors' PyTorch model, which
// uses torch_butterfly's Butterfly as a drop-in linear layer and FNet's Re(FFT2) for mixing.
#include "workloads/zoo/transformer.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

struct FabnetShape {
  int64_t hidden, layers, heads;
};

// FABNet-Base / -Large; FFN ratio 4. Heads (used by ABfly blocks only) as in BERT of the same
// width, since FABNet's attention is BERT's.
FabnetShape fabnet_shape(const std::string& variant) {
  if (variant == "large") return {1024, 24, 16};
  return {768, 12, 12};
}

constexpr int64_t kFfnRatio = 4;

// Butterfly FFN: Butterfly(hidden, 4·hidden), GELU, Butterfly(4·hidden, hidden), shortcut add
// and LayerNorm.
std::string butterfly_ffn(WorkloadBuilder& b, const std::string& prefix, const std::string& x,
                          const EncoderDims& d) {
  using ir::v1::ADD;
  using ir::v1::GELU;
  const std::string up = b.butterfly_linear(prefix + ".up", x, d.rows(), d.hidden, d.ffn);
  const std::string act = b.eltwise(prefix + ".gelu", GELU, {up});
  const std::string down = b.butterfly_linear(prefix + ".down", act, d.rows(), d.ffn, d.hidden);
  const std::string sum = b.eltwise(prefix + ".add", ADD, {down, x});
  return b.layernorm(prefix + ".norm", sum, d.rows(), d.hidden);
}

// FNet mixing, Re(FFT2(x)) over (sequence, hidden). A radix-2 FFT needs power-of-two lengths, so
// each axis is zero-padded to the next power of two (as the FABNet hardware does for the hidden
// size, 768 -> 1024) and the output is cropped back to [seq, hidden].
std::string fbfly_block(WorkloadBuilder& b, const std::string& prefix, const std::string& x,
                        const EncoderDims& d) {
  using ir::v1::ADD;
  ir::v1::Fft spec;
  spec.set_batch(d.batch);
  spec.add_lengths(pow2_ceil(d.seq));
  spec.add_lengths(pow2_ceil(d.hidden));
  spec.set_real_input(true);
  spec.set_real_output(true);
  const std::string mixed = b.fft(prefix + ".mix.fft", x, spec);
  const std::string sum = b.eltwise(prefix + ".mix.add", ADD, {mixed, x});
  const std::string y = b.layernorm(prefix + ".mix.norm", sum, d.rows(), d.hidden);
  return butterfly_ffn(b, prefix + ".ffn", y, d);
}

// Butterfly Q/K/V and output projections around vanilla softmax attention.
std::string abfly_block(WorkloadBuilder& b, const std::string& prefix, const std::string& x,
                        const EncoderDims& d) {
  using ir::v1::ADD;
  const std::string attn = prefix + ".attn";
  const int64_t rows = d.rows();
  const std::string q = b.butterfly_linear(attn + ".q", x, rows, d.hidden, d.hidden);
  const std::string k = b.butterfly_linear(attn + ".k", x, rows, d.hidden, d.hidden);
  const std::string v = b.butterfly_linear(attn + ".v", x, rows, d.hidden, d.hidden);
  const std::string context = attention_core(b, attn, q, k, v, d);
  const std::string projected =
      b.butterfly_linear(attn + ".out", context, rows, d.hidden, d.hidden);
  const std::string sum = b.eltwise(attn + ".add", ADD, {projected, x});
  const std::string y = b.layernorm(attn + ".norm", sum, rows, d.hidden);
  return butterfly_ffn(b, prefix + ".ffn", y, d);
}

}  // namespace

const sim::ParamSchema<FabnetParams>& FabnetParams::schema() {
  static const auto s =
      sim::ParamSchema<FabnetParams>()
          .choice("variant", &FabnetParams::variant, {"base", "large"},
                  "base: hidden 768, 12 layers; large: hidden 1024, 24 layers (FFN ratio 4)")
          .def("base")
          .integer("seq_len", &FabnetParams::seq_len, "tokens per sequence")
          .def(128)
          .min(1)
          .unit("tokens")
          .integer("abfly_layers", &FabnetParams::abfly_layers,
                   "how many of the last layers are ABfly (attention) blocks; the rest are "
                   "FBfly (FFT) blocks")
          .def(0)
          .min(0)
          .integer("batch", &FabnetParams::batch, "sequences per inference")
          .def(1)
          .min(1);
  return s;
}

std::vector<ParamProblem> FabnetParams::problems() const {
  const int64_t layers = fabnet_shape(variant).layers;
  if (abfly_layers > layers)
    return {
        {"abfly_layers", "must be <= " + std::to_string(layers) + ", the layers of " + variant}};
  return {};
}

ir::v1::Workload build_fabnet(const FabnetParams& p) {
  const FabnetShape s = fabnet_shape(p.variant);
  WorkloadBuilder b("fabnet_" + p.variant + "_seq" + std::to_string(p.seq_len));
  EncoderDims d;
  d.hidden = s.hidden;
  d.heads = s.heads;
  d.ffn = kFfnRatio * s.hidden;
  d.seq = p.seq_len;
  d.batch = p.batch;
  std::string x = b.input("input", {d.rows(), d.hidden});
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string prefix = "layer" + std::to_string(l);
    x = l < s.layers - p.abfly_layers ? fbfly_block(b, prefix, x, d) : abfly_block(b, prefix, x, d);
  }
  b.mark_output(x);
  return b.finish();
}

}  // namespace codesim::workloads
