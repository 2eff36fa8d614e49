#pragma once
// Fashion-MNIST (Xiao et al., 2017) as Debian's dataset-fashion-mnist installs it: gzipped IDX
// files in /usr/share/datasets/fashion-mnist. 60,000 training and 10,000 test images of 28 x 28
// grey pixels, ten classes (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
// 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot).

#include <cstdint>
#include <string>
#include <vector>

namespace codesim::workloads {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Labelled images, NCHW.
struct ImageDataset {
  std::vector<int64_t> shape;  // [count, channels, height, width]
  // pixel / 255 in float32, in [0, 1] (torchvision's ToTensor scaling; normalization is the
  // evaluator's job).
  std::vector<float> images;
  std::vector<int> labels;  // class of each image, in [0, classes)
  int classes = 0;

  int64_t count() const { return shape.empty() ? 0 : shape[0]; }
  int64_t image_size() const;  // channels * height * width
};

// The "train" or "test" split ({train,t10k}-{images-idx3,labels-idx1}-ubyte.gz in `dir`); with
// limit > 0, only its first `limit` images. A missing file, a malformed one or an unknown split
// is a sim::ConfigError naming the file (and, when missing, the Debian package to install).
ImageDataset load_fashion_mnist(const std::string& split, int64_t limit = 0,
                                const std::string& dir = kFashionMnistDir);

}  // namespace codesim::workloads
