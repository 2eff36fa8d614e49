#include "workloads/zoo/transformer.h"

namespace codesim::workloads {

using ir::v1::ADD;
using ir::v1::GELU;

std::string attention_core(WorkloadBuilder& b, const std::string& prefix, const std::string& q,
                           const std::string& k, const std::string& v, const EncoderDims& d) {
  const int64_t groups = d.batch * d.heads;
  const std::string scores = b.matmul(prefix + ".scores", q, k, groups, d.seq, d.seq, d.head_dim());
  const std::string probs = b.softmax(prefix + ".softmax", scores, groups * d.seq, d.seq);
  return b.matmul(prefix + ".context", probs, v, groups, d.seq, d.head_dim(), d.seq);
}

std::string encoder_layer(WorkloadBuilder& b, const std::string& prefix, const std::string& x,
                          const EncoderDims& d, bool pre_norm) {
  const int64_t rows = d.rows();
  const int64_t h = d.hidden;
  const std::string attn = prefix + ".attn";
  const std::string attn_in = pre_norm ? b.layernorm(attn + ".norm", x, rows, h) : x;
  const std::string q = b.linear(attn + ".q", attn_in, 1, rows, h, h, true);
  const std::string k = b.linear(attn + ".k", attn_in, 1, rows, h, h, true);
  const std::string v = b.linear(attn + ".v", attn_in, 1, rows, h, h, true);
  const std::string context = attention_core(b, attn, q, k, v, d);
  const std::string projected = b.linear(attn + ".out", context, 1, rows, h, h, true);
  std::string y = b.eltwise(attn + ".add", ADD, {projected, x});
  if (!pre_norm) y = b.layernorm(attn + ".norm", y, rows, h);

  const std::string ffn = prefix + ".ffn";
  const std::string ffn_in = pre_norm ? b.layernorm(ffn + ".norm", y, rows, h) : y;
  const std::string up = b.linear(ffn + ".up", ffn_in, 1, rows, d.ffn, h, true);
  const std::string act = b.eltwise(ffn + ".gelu", GELU, {up});
  const std::string down = b.linear(ffn + ".down", act, 1, rows, h, d.ffn, true);
  std::string out = b.eltwise(ffn + ".add", ADD, {down, y});
  if (!pre_norm) out = b.layernorm(ffn + ".norm", out, rows, h);
  return out;
}

}  // namespace codesim::workloads
