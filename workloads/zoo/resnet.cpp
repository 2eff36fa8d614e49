#include "workloads/zoo/cnn.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

using ir::v1::ADD;
using ir::v1::ELTWISE_UNSPECIFIED;
using ir::v1::RELU;

// Bottleneck of torchvision ResNet v1.5: 1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4,
// with a 1x1 strided projection on the shortcut when the shape changes.
std::string bottleneck(WorkloadBuilder& b, const std::string& name, const std::string& x,
                       int64_t width, int64_t stride) {
  const int64_t out_channels = 4 * width;
  const int64_t in_channels = b.tensor(x).shape(1);
  std::string y = conv_block(b, name + ".conv1", x, width, 1, 1, 0, 1, RELU);
  y = conv_block(b, name + ".conv2", y, width, 3, stride, 1, 1, RELU);
  y = conv_block(b, name + ".conv3", y, out_channels, 1, 1, 0, 1, ELTWISE_UNSPECIFIED);
  std::string shortcut = x;
  if (stride != 1 || in_channels != out_channels)
    shortcut =
        conv_block(b, name + ".downsample", x, out_channels, 1, stride, 0, 1, ELTWISE_UNSPECIFIED);
  const std::string sum = b.eltwise(name + ".add", ADD, {y, shortcut});
  return b.eltwise(name + ".relu", RELU, {sum});
}

}  // namespace

const sim::ParamSchema<ResNet50Params>& ResNet50Params::schema() {
  static const auto s =
      sim::ParamSchema<ResNet50Params>()
          .integer("image", &ResNet50Params::image,
                   "input image height and width (the network divides it by 32)")
          .def(224)
          .min(32)
          .unit("pixels")
          .integer("classes", &ResNet50Params::classes, "outputs of the classifier")
          .def(1000)
          .min(1)
          .integer("batch", &ResNet50Params::batch, "images per inference")
          .def(1)
          .min(1);
  return s;
}

ir::v1::Workload build_resnet50(const ResNet50Params& p) {
  WorkloadBuilder b("resnet50_" + std::to_string(p.image));
  std::string x = b.input("image", {p.batch, 3, p.image, p.image});
  x = conv_block(b, "conv1", x, 64, 7, 2, 3, 1, RELU);
  const auto& stem = b.tensor(x);
  ir::v1::Pool mp;
  mp.set_kind(ir::v1::MAX);
  mp.set_batch(p.batch);
  mp.set_c(stem.shape(1));
  mp.set_h(stem.shape(2));
  mp.set_w(stem.shape(3));
  mp.set_kernel_h(3);
  mp.set_kernel_w(3);
  mp.set_stride_h(2);
  mp.set_stride_w(2);
  mp.set_pad_h(1);
  mp.set_pad_w(1);
  x = b.pool("maxpool", x, mp);

  const int64_t blocks[4] = {3, 4, 6, 3};
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t width = int64_t{64} << stage;
    for (int64_t i = 0; i < blocks[stage]; ++i) {
      const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      x = bottleneck(b, "layer" + std::to_string(stage + 1) + "." + std::to_string(i), x, width,
                     stride);
    }
  }
  b.mark_output(pool_and_classify(b, x, p.classes));
  return b.finish();
}

}  // namespace codesim::workloads
