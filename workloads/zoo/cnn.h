#pragma once
// Convolution blocks shared by the CNN builders (resnet50, mobilenetv2). Batch norm is folded
// into the preceding convolution, which therefore has a bias.

#include <cstdint>
#include <string>

#include "workloads/zoo/builder.h"

namespace codesim::workloads {

// Square conv on the NCHW tensor x (its shape gives batch, c, h, w) with "same"-style padding
// pad, then the activation `act` as its own eltwise op `<name>.<act>` unless act is
// ELTWISE_UNSPECIFIED.
std::string conv_block(WorkloadBuilder& b, const std::string& name, const std::string& x,
                       int64_t filters, int64_t kernel, int64_t stride, int64_t pad, int64_t groups,
                       ir::v1::EltwiseFunc act);

// Global average pool followed by the linear classifier; returns the logits.
std::string pool_and_classify(WorkloadBuilder& b, const std::string& x, int64_t classes);

}  // namespace codesim::workloads
