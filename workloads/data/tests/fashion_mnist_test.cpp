// The Fashion-MNIST reader on Debian's dataset-fashion-mnist, and its errors on bad files.
#include "workloads/data/fashion_mnist.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "sim/core/diagnostics.h"

namespace codesim::workloads {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

std::vector<int64_t> per_class(const ImageDataset& d) {
  std::vector<int64_t> n(static_cast<size_t>(d.classes), 0);
  for (int label : d.labels) ++n.at(static_cast<size_t>(label));
  return n;
}

TEST_CASE("the Fashion-MNIST test split holds 10,000 images, 1,000 of each class", "[unit]") {
  const ImageDataset d = load_fashion_mnist("test");
  REQUIRE(d.shape == std::vector<int64_t>{10000, 1, 28, 28});
  REQUIRE(d.images.size() == 10000u * 784u);
  REQUIRE(d.classes == 10);
  REQUIRE(per_class(d) == std::vector<int64_t>(10, 1000));
  const auto [lo, hi] = std::minmax_element(d.images.begin(), d.images.end());
  REQUIRE(*lo == 0.0f);
  REQUIRE(*hi == 1.0f);
  // Every value is a byte over 255.
  for (size_t i = 0; i < d.images.size(); i += 97) {
    const float byte = d.images[i] * 255.0f;
    REQUIRE(byte == Approx(std::round(byte)).margin(1e-4));
  }
  // The first labels, as models.json records them.
  const std::vector<int> first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1};
  REQUIRE(std::equal(first.begin(), first.end(), d.labels.begin()));
}

TEST_CASE("the Fashion-MNIST training split holds 60,000 images, 6,000 of each class", "[unit]") {
  const ImageDataset d = load_fashion_mnist("train");
  REQUIRE(d.shape == std::vector<int64_t>{60000, 1, 28, 28});
  REQUIRE(per_class(d) == std::vector<int64_t>(10, 6000));
}

TEST_CASE("a limit keeps the first images and labels", "[unit]") {
  const ImageDataset all = load_fashion_mnist("test");
  const ImageDataset some = load_fashion_mnist("test", 100);
  REQUIRE(some.count() == 100);
  REQUIRE(some.image_size() == 784);
  REQUIRE(std::equal(some.labels.begin(), some.labels.end(), all.labels.begin()));
  REQUIRE(std::equal(some.images.begin(), some.images.end(), all.images.begin()));
  REQUIRE(load_fashion_mnist("test", 20000).count() == 10000);
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("codesim_fmnist_test_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  // zlib reads uncompressed files unchanged, so a test file needs no gzip.
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// An IDX header: magic 0 0 0x08 rank, big-endian dimensions.
std::vector<uint8_t> idx_header(uint8_t rank, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> h = {0, 0, 0x08, rank};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<uint8_t>(d >> shift));
  return h;
}

std::string load_error(const std::string& split, const std::string& dir) {
  try {
    load_fashion_mnist(split, 0, dir);
  } catch (const sim::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("missing, malformed and truncated files are errors naming the file", "[unit]") {
  TempDir dir;
  const std::string images = dir.str() + "/t10k-images-idx3-ubyte.gz";
  const std::string labels = dir.str() + "/t10k-labels-idx1-ubyte.gz";
  SECTION("missing") {
    const std::string e = load_error("test", dir.str());
    REQUIRE_THAT(e, Contains(images + ": error: no such file"));
    REQUIRE_THAT(e, Contains("apt-get install dataset-fashion-mnist"));
  }
  SECTION("bad magic") {
    auto bytes = idx_header(3, {1, 2, 2});
    bytes[2] = 0x0D;  // float data
    bytes.insert(bytes.end(), 4, 0);
    dir.write("t10k-images-idx3-ubyte.gz", bytes);
    REQUIRE_THAT(load_error("test", dir.str()),
                 Contains(images + ": error: not an IDX file of unsigned bytes with 3 dimensions"));
  }
  SECTION("truncated") {
    auto bytes = idx_header(3, {2, 2, 2});
    bytes.insert(bytes.end(), 7, 0);
    dir.write("t10k-images-idx3-ubyte.gz", bytes);
    REQUIRE_THAT(load_error("test", dir.str()),
                 Contains(images + ": error: holds 7 data bytes but its header announces 8"));
  }
  SECTION("label out of range and count mismatch") {
    auto img = idx_header(3, {2, 1, 1});
    img.insert(img.end(), {0, 255});
    dir.write("t10k-images-idx3-ubyte.gz", img);
    auto lab = idx_header(1, {2});
    lab.insert(lab.end(), {3, 10});
    dir.write("t10k-labels-idx1-ubyte.gz", lab);
    REQUIRE_THAT(load_error("test", dir.str()),
                 Contains(labels + ": error: label 10 of image 1 is not a Fashion-MNIST class"));
    lab = idx_header(1, {3});
    lab.insert(lab.end(), {1, 2, 3});
    dir.write("t10k-labels-idx1-ubyte.gz", lab);
    REQUIRE_THAT(load_error("test", dir.str()), Contains("holds 3 labels but"));
  }
  SECTION("a valid tiny file loads") {
    auto img = idx_header(3, {2, 1, 2});
    img.insert(img.end(), {0, 51, 102, 255});
    dir.write("t10k-images-idx3-ubyte.gz", img);
    auto lab = idx_header(1, {2});
    lab.insert(lab.end(), {7, 0});
    dir.write("t10k-labels-idx1-ubyte.gz", lab);
    const ImageDataset d = load_fashion_mnist("test", 0, dir.str());
    REQUIRE(d.shape == std::vector<int64_t>{2, 1, 1, 2});
    REQUIRE(d.images == std::vector<float>{0.0f, 0.2f, 0.4f, 1.0f});
    REQUIRE(d.labels == std::vector<int>{7, 0});
  }
  SECTION("unknown split") {
    REQUIRE_THAT(load_error("validation", dir.str()), Contains("unknown Fashion-MNIST split"));
  }
}

}  // namespace
}  // namespace codesim::workloads
