#include "workloads/data/fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "sim/core/diagnostics.h"

namespace codesim::workloads {

namespace {

constexpr int kClasses = 10;

// An IDX file (http://yann.lecun.com/exdb/mnist/): magic 0x00 0x00 type rank, big-endian u32
// dimensions, then the data; only unsigned bytes (type 0x08) occur in Fashion-MNIST.
struct Idx {
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
};

[[noreturn]] void file_error(const std::string& path, const std::string& message,
                             const std::string& hint = "") {
  sim::Diagnostics d;
  sim::Diagnostic dg;
  dg.file = path;
  dg.message = message;
  dg.hint = hint;
  d.error(dg);
  throw sim::ConfigError(d);
}

// The whole file, decompressed when gzipped (zlib reads plain files unchanged).
std::vector<uint8_t> read_gzip(const std::string& path) {
  if (!std::filesystem::exists(path))
    file_error(path, "no such file",
               "install the Debian package: apt-get install dataset-fashion-mnist");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) file_error(path, "cannot open file", "check its permissions");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    const int n = gzread(f.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      file_error(path, std::string("corrupt gzip data: ") + gzerror(f.get(), &code),
                 "reinstall dataset-fashion-mnist");
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  return out;
}

Idx read_idx(const std::string& path, int rank) {
  const std::vector<uint8_t> raw = read_gzip(path);
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (raw.size() < header || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08 || raw[3] != rank)
    file_error(path,
               "not an IDX file of unsigned bytes with " + std::to_string(rank) +
                   " dimensions (bad magic number)",
               "expected the Fashion-MNIST files of dataset-fashion-mnist");
  Idx idx;
  int64_t elements = 1;
  for (int d = 0; d < rank; ++d) {
    const uint8_t* p = raw.data() + 4 + 4 * d;
    idx.dims.push_back((int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) | (int64_t{p[2]} << 8) |
                       int64_t{p[3]});
    elements *= idx.dims.back();
  }
  if (static_cast<int64_t>(raw.size() - header) != elements)
    file_error(path,
               "holds " + std::to_string(raw.size() - header) +
                   " data bytes but its header announces " + std::to_string(elements),
               "the file is truncated or corrupt; reinstall dataset-fashion-mnist");
  idx.bytes.assign(raw.begin() + static_cast<std::ptrdiff_t>(header), raw.end());
  return idx;
}

}  // namespace

int64_t ImageDataset::image_size() const {
  int64_t n = 1;
  for (size_t d = 1; d < shape.size(); ++d) n *= shape[d];
  return n;
}

ImageDataset load_fashion_mnist(const std::string& split, int64_t limit, const std::string& dir) {
  if (split != "train" && split != "test")
    throw sim::ConfigError("unknown Fashion-MNIST split '" + split + "' (use train or test)");
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  const std::string image_path = prefix + "-images-idx3-ubyte.gz";
  const std::string label_path = prefix + "-labels-idx1-ubyte.gz";
  const Idx images = read_idx(image_path, 3);
  const Idx labels = read_idx(label_path, 1);
  if (images.dims[0] != labels.dims[0])
    file_error(label_path, "holds " + std::to_string(labels.dims[0]) + " labels but " + image_path +
                               " holds " + std::to_string(images.dims[0]) + " images");
  const int64_t count = limit > 0 ? std::min(limit, images.dims[0]) : images.dims[0];
  ImageDataset ds;
  ds.shape = {count, 1, images.dims[1], images.dims[2]};
  ds.classes = kClasses;
  const int64_t pixels = count * images.dims[1] * images.dims[2];
  ds.images.resize(static_cast<size_t>(pixels));
  // Float32 division, as torchvision and the training script (uint8 -> float32, / 255) scale.
  for (int64_t i = 0; i < pixels; ++i)
    ds.images[static_cast<size_t>(i)] =
        static_cast<float>(images.bytes[static_cast<size_t>(i)]) / 255.0f;
  ds.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int label = labels.bytes[static_cast<size_t>(i)];
    if (label >= kClasses)
      file_error(label_path, "label " + std::to_string(label) + " of image " + std::to_string(i) +
                                 " is not a Fashion-MNIST class (0..9)");
    ds.labels[static_cast<size_t>(i)] = label;
  }
  return ds;
}

}  // namespace codesim::workloads
