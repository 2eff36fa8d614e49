#include "workloads/zoo/transformer.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

struct BertShape {
  int64_t hidden, layers, heads, ffn;
};

// Table 1 of Devlin et al. (BERT-Base, BERT-Large); FFN = 4 · hidden.
BertShape bert_shape(const std::string& variant) {
  if (variant == "large") return {1024, 24, 16, 4096};
  return {768, 12, 12, 3072};
}

}  // namespace

const sim::ParamSchema<BertParams>& BertParams::schema() {
  static const auto s = sim::ParamSchema<BertParams>()
                            .choice("variant", &BertParams::variant, {"base", "large"},
                                    "base: hidden 768, 12 layers, 12 heads, FFN 3072; large: "
                                    "hidden 1024, 24 layers, 16 heads, FFN 4096")
                            .def("base")
                            .integer("seq_len", &BertParams::seq_len, "tokens per sequence")
                            .def(128)
                            .min(1)
                            .unit("tokens")
                            .integer("batch", &BertParams::batch, "sequences per inference")
                            .def(1)
                            .min(1);
  return s;
}

ir::v1::Workload build_bert(const BertParams& p) {
  const BertShape s = bert_shape(p.variant);
  WorkloadBuilder b("bert_" + p.variant + "_seq" + std::to_string(p.seq_len));
  EncoderDims d;
  d.hidden = s.hidden;
  d.heads = s.heads;
  d.ffn = s.ffn;
  d.seq = p.seq_len;
  d.batch = p.batch;
  std::string x = b.input("input", {d.rows(), d.hidden});
  for (int64_t l = 0; l < s.layers; ++l)
    x = encoder_layer(b, "layer" + std::to_string(l), x, d, /*pre_norm=*/false);
  b.mark_output(x);
  return b.finish();
}

}  // namespace codesim::workloads
