// The FBNet-style CIFAR supernet of NASA (Shi et al., ICCAD 2022; GATECH-EIC/NASA
// config_search.py, shared/reference/accelerators.md §3.2) with one candidate chosen per
// searchable layer. Macro structure: a 3x3 stem of 16 channels at stride 1, 22 searchable layers
// in 7 stages (channels 16, 24, 32, 64, 112, 184, 352; layers 1, 4, 4, 4, 4, 4, 1; first strides
// 1, 1, 2, 2, 1, 2, 1), a 1x1 head of 1504 channels, global average pooling and the classifier.
// A candidate block is PW 1x1 (C -> E*C) -> DW KxK (carrying the stride) -> PW 1x1 (E*C -> C'),
// with (E, K) in {1, 3, 6} x {3, 5}, batch norm folded into the conv biases, ReLU after the first
// two convs and a residual add when shape is unchanged, or a skip (identity) where the shape is
// unchanged. Whether a layer multiplies, shifts or adds is not the builder's business: the pow2
// and adder transforms turn chosen layers into shift or adder layers.

#include <sstream>

#include "workloads/zoo/cnn.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

using ir::v1::ADD;
using ir::v1::ELTWISE_UNSPECIFIED;
using ir::v1::RELU;

constexpr int64_t kChannels[] = {16, 24, 32, 64, 112, 184, 352};
constexpr int64_t kLayers[] = {1, 4, 4, 4, 4, 4, 1};
constexpr int64_t kStrides[] = {1, 1, 2, 2, 1, 2, 1};
constexpr int64_t kStem = 16, kHead = 1504, kSearchable = 22;

struct Block {
  bool skip = false;
  int64_t expand = 1, kernel = 3;
};

// "e<E>k<K>" or "skip"; false if the text is neither.
bool parse_block(const std::string& s, Block& b) {
  if (s == "skip") {
    b.skip = true;
    return true;
  }
  for (int64_t e : {1, 3, 6})
    for (int64_t k : {3, 5})
      if (s == "e" + std::to_string(e) + "k" + std::to_string(k)) {
        b.expand = e, b.kernel = k;
        return true;
      }
  return false;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t a = item.find_first_not_of(' '), z = item.find_last_not_of(' ');
    out.push_back(a == std::string::npos ? "" : item.substr(a, z - a + 1));
  }
  return out;
}

// Shape of searchable layer i: (input channels, output channels, stride).
struct Slot {
  int64_t in, out, stride;
};
std::vector<Slot> slots() {
  std::vector<Slot> v;
  int64_t in = kStem;
  for (int s = 0; s < 7; ++s)
    for (int64_t i = 0; i < kLayers[s]; ++i) {
      v.push_back({in, kChannels[s], i == 0 ? kStrides[s] : 1});
      in = kChannels[s];
    }
  return v;
}

std::vector<Block> blocks_of(const FbnetCifarParams& p) {
  std::vector<Block> out(kSearchable);
  if (p.blocks.empty()) {
    for (Block& b : out) b.expand = p.expansion, b.kernel = p.kernel;
    return out;
  }
  const std::vector<std::string> items = split(p.blocks);
  for (size_t i = 0; i < out.size() && i < items.size(); ++i) parse_block(items[i], out[i]);
  return out;
}

}  // namespace

const sim::ParamSchema<FbnetCifarParams>& FbnetCifarParams::schema() {
  static const auto s =
      sim::ParamSchema<FbnetCifarParams>()
          .integer("expansion", &FbnetCifarParams::expansion,
                   "expansion E of every searchable layer when blocks is empty (1, 3 or 6)")
          .def(3)
          .range(1, 6)
          .integer("kernel", &FbnetCifarParams::kernel,
                   "depthwise kernel K of every searchable layer when blocks is empty (3 or 5)")
          .def(3)
          .range(3, 5)
          .text("blocks", &FbnetCifarParams::blocks,
                "22 comma-separated choices, one per searchable layer: e1k3, e3k3, e6k3, e1k5, "
                "e3k5, e6k5 or skip (only where input and output shapes are equal); empty = "
                "expansion and kernel everywhere")
          .def("")
          .integer("image", &FbnetCifarParams::image, "input image height and width")
          .def(32)
          .min(8)
          .unit("pixels")
          .integer("classes", &FbnetCifarParams::classes, "outputs (10: CIFAR-10, 100: CIFAR-100)")
          .def(10)
          .min(1)
          .integer("batch", &FbnetCifarParams::batch, "images per inference")
          .def(1)
          .min(1);
  return s;
}

std::vector<ParamProblem> FbnetCifarParams::problems() const {
  if (blocks.empty()) {
    if (expansion != 1 && expansion != 3 && expansion != 6)
      return {{"expansion", "must be 1, 3 or 6 (is " + std::to_string(expansion) + ")"}};
    if (kernel != 3 && kernel != 5)
      return {{"kernel", "must be 3 or 5 (is " + std::to_string(kernel) + ")"}};
    return {};
  }
  const std::vector<std::string> items = split(blocks);
  if (items.size() != static_cast<size_t>(kSearchable))
    return {{"blocks", "needs " + std::to_string(kSearchable) + " comma-separated choices, has " +
                           std::to_string(items.size())}};
  const std::vector<Slot> sl = slots();
  for (size_t i = 0; i < items.size(); ++i) {
    Block b;
    if (!parse_block(items[i], b))
      return {{"blocks", "choice " + std::to_string(i) + " '" + items[i] +
                             "' is not one of e1k3, e3k3, e6k3, e1k5, e3k5, e6k5, skip"}};
    if (b.skip && (sl[i].stride != 1 || sl[i].in != sl[i].out))
      return {{"blocks", "choice " + std::to_string(i) +
                             " cannot be skip: the layer changes the shape (stride " +
                             std::to_string(sl[i].stride) + ", " + std::to_string(sl[i].in) +
                             " -> " + std::to_string(sl[i].out) + " channels)"}};
  }
  return {};
}

ir::v1::Workload build_fbnet_cifar(const FbnetCifarParams& p) {
  WorkloadBuilder b("fbnet_cifar" + std::to_string(p.classes));
  std::string x = b.input("image", {p.batch, 3, p.image, p.image});
  x = conv_block(b, "stem", x, kStem, 3, 1, 1, 1, RELU);
  const std::vector<Slot> sl = slots();
  const std::vector<Block> bl = blocks_of(p);
  for (size_t i = 0; i < sl.size(); ++i) {
    if (bl[i].skip) continue;
    const std::string name = "blocks." + std::to_string(i);
    const int64_t hidden = sl[i].in * bl[i].expand, k = bl[i].kernel;
    std::string y = conv_block(b, name + ".expand", x, hidden, 1, 1, 0, 1, RELU);
    y = conv_block(b, name + ".depthwise", y, hidden, k, sl[i].stride, k / 2, hidden, RELU);
    y = conv_block(b, name + ".project", y, sl[i].out, 1, 1, 0, 1, ELTWISE_UNSPECIFIED);
    if (sl[i].stride == 1 && sl[i].in == sl[i].out) y = b.eltwise(name + ".add", ADD, {y, x});
    x = y;
  }
  x = conv_block(b, "head", x, kHead, 1, 1, 0, 1, RELU);
  b.mark_output(pool_and_classify(b, x, p.classes));
  return b.finish();
}

}  // namespace codesim::workloads
