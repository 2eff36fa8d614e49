#include <algorithm>

#include "workloads/zoo/cnn.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

using ir::v1::ADD;
using ir::v1::ELTWISE_UNSPECIFIED;
using ir::v1::RELU6;

// torchvision's _make_divisible: round to a multiple of 8, never more than 10% below v.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t rounded = std::max(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

// Inverted residual: 1x1 expansion (skipped when expand == 1), 3x3 depthwise carrying the
// stride, linear 1x1 projection; a shortcut when the shape is unchanged.
std::string inverted_residual(WorkloadBuilder& b, const std::string& name, const std::string& x,
                              int64_t out_channels, int64_t stride, int64_t expand) {
  const int64_t in_channels = b.tensor(x).shape(1);
  const int64_t hidden = in_channels * expand;
  std::string y = x;
  if (expand != 1) y = conv_block(b, name + ".expand", y, hidden, 1, 1, 0, 1, RELU6);
  y = conv_block(b, name + ".depthwise", y, hidden, 3, stride, 1, hidden, RELU6);
  y = conv_block(b, name + ".project", y, out_channels, 1, 1, 0, 1, ELTWISE_UNSPECIFIED);
  if (stride == 1 && in_channels == out_channels) y = b.eltwise(name + ".add", ADD, {y, x});
  return y;
}

}  // namespace

const sim::ParamSchema<MobileNetV2Params>& MobileNetV2Params::schema() {
  static const auto s =
      sim::ParamSchema<MobileNetV2Params>()
          .real("width", &MobileNetV2Params::width,
                "width multiplier of every layer's channels (rounded to multiples of 8)")
          .def(1.0)
          .range(0.1, 4.0)
          .integer("image", &MobileNetV2Params::image,
                   "input image height and width (the network divides it by 32)")
          .def(224)
          .min(32)
          .unit("pixels")
          .integer("classes", &MobileNetV2Params::classes, "outputs of the classifier")
          .def(1000)
          .min(1)
          .integer("batch", &MobileNetV2Params::batch, "images per inference")
          .def(1)
          .min(1);
  return s;
}

ir::v1::Workload build_mobilenetv2(const MobileNetV2Params& p) {
  WorkloadBuilder b("mobilenetv2_" + std::to_string(p.image));
  std::string x = b.input("image", {p.batch, 3, p.image, p.image});
  x = conv_block(b, "features.0", x, make_divisible(32 * p.width), 3, 2, 1, 1, RELU6);

  // Table 2 of Sandler et al.: expansion t, channels c, repeats n, first stride s.
  struct Stage {
    int64_t t, c, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int index = 1;
  for (const Stage& st : stages) {
    const int64_t out_channels = make_divisible(st.c * p.width);
    for (int64_t i = 0; i < st.n; ++i, ++index)
      x = inverted_residual(b, "features." + std::to_string(index), x, out_channels,
                            i == 0 ? st.s : 1, st.t);
  }
  const int64_t last = make_divisible(1280 * std::max(1.0, p.width));
  x = conv_block(b, "features." + std::to_string(index), x, last, 1, 1, 0, 1, RELU6);
  b.mark_output(pool_and_classify(b, x, p.classes));
  return b.finish();
}

}  // namespace codesim::workloads
