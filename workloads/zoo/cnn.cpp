#include "workloads/zoo/cnn.h"

#include <algorithm>
#include <cctype>

namespace codesim::workloads {

std::string conv_block(WorkloadBuilder& b, const std::string& name, const std::string& x,
                       int64_t filters, int64_t kernel, int64_t stride, int64_t pad, int64_t groups,
                       ir::v1::EltwiseFunc act) {
  const auto& in = b.tensor(x);
  ir::v1::Conv2d c;
  c.set_batch(in.shape(0));
  c.set_c(in.shape(1));
  c.set_h(in.shape(2));
  c.set_w(in.shape(3));
  c.set_filters(filters);
  c.set_kernel_h(kernel);
  c.set_kernel_w(kernel);
  c.set_stride_h(stride);
  c.set_stride_w(stride);
  c.set_pad_top(pad);
  c.set_pad_bottom(pad);
  c.set_pad_left(pad);
  c.set_pad_right(pad);
  c.set_dilation_h(1);
  c.set_dilation_w(1);
  c.set_groups(groups);
  const std::string y = b.conv2d(name, x, c, /*bias=*/true);
  if (act == ir::v1::ELTWISE_UNSPECIFIED) return y;
  std::string act_name = ir::v1::EltwiseFunc_Name(act);
  std::transform(act_name.begin(), act_name.end(), act_name.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  return b.eltwise(name + "." + act_name, act, {y});
}

std::string pool_and_classify(WorkloadBuilder& b, const std::string& x, int64_t classes) {
  const auto& in = b.tensor(x);
  const int64_t batch = in.shape(0), c = in.shape(1);
  ir::v1::Pool p;
  p.set_kind(ir::v1::GLOBAL_AVG);
  p.set_batch(batch);
  p.set_c(c);
  p.set_h(in.shape(2));
  p.set_w(in.shape(3));
  const std::string pooled = b.pool("avgpool", x, p);
  return b.linear("fc", pooled, 1, batch, classes, c, true);
}

}  // namespace codesim::workloads
