#pragma once
// Transformer building blocks shared by the bert, vit and fabnet builders. Token matrices are
// [batch·seq, hidden]; heads are a view of them (see builder.h), not separate tensors.

#include <cstdint>
#include <string>

#include "workloads/zoo/builder.h"

namespace codesim::workloads {

struct EncoderDims {
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t ffn = 0;
  int64_t seq = 0;
  int64_t batch = 1;
  int64_t rows() const { return batch * seq; }
  int64_t head_dim() const { return hidden / heads; }
};

// softmax(Q·Kᵀ)·V per head from projected q, k, v; returns the context [batch·heads, seq,
// head_dim]. The 1/sqrt(head_dim) scale is folded into the Q projection, so it costs no op.
std::string attention_core(WorkloadBuilder& b, const std::string& prefix, const std::string& q,
                           const std::string& k, const std::string& v, const EncoderDims& d);

// A BERT encoder layer (norm after each residual add, `pre_norm` false) or a ViT layer (norm
// before attention and before the FFN, `pre_norm` true). Linear layers carry biases.
std::string encoder_layer(WorkloadBuilder& b, const std::string& prefix, const std::string& x,
                          const EncoderDims& d, bool pre_norm);

}  // namespace codesim::workloads
