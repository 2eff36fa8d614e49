#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "compress/reference/executor.h"
#include "compress/tests/compress_test_util.h"
#include "workloads/zoo/builder.h"
#include "workloads/zoo/transformer.h"

namespace codesim::compress {
namespace {

using namespace testing;

// One BERT encoder layer over x [batch·seq, hidden] with random values in every weight.
ir::v1::Workload encoder(int64_t batch, int64_t seq, int64_t hidden) {
  workloads::WorkloadBuilder b("encoder");
  workloads::EncoderDims d;
  d.hidden = hidden;
  d.heads = 2;
  d.ffn = 2 * hidden;
  d.seq = seq;
  d.batch = batch;
  const std::string x = b.input("x", {batch * seq, hidden});
  b.mark_output(workloads::encoder_layer(b, "l0", x, d, false));
  ir::v1::Workload w = b.finish();
  uint64_t seed = 1;
  for (auto& t : *w.mutable_tensors())
    if (t.is_weight())
      for (float v : random_values(ir::tensor_elements(t), seed++, 0.1f)) t.add_float_data(v);
  return w;
}

TEST_CASE("fnet transform: attention becomes Re(FFT2) mixing", "[unit]") {
  const int64_t batch = 2, seq = 8, hidden = 32;
  ir::v1::Workload w = encoder(batch, seq, hidden);
  const int64_t attn_params =
      4 * (hidden * hidden + hidden);  // q, k, v, out projections with biases
  auto results = run("pipeline: [{transform: fnet, select: {kind: gemm}}]", w, 0);
  REQUIRE(results[0].changes.size() == 1);
  const OpChange& c = results[0].changes[0];
  CHECK(c.op == "l0.attn.out");
  CHECK(c.needs_retraining);
  CHECK(c.output_error < 0);
  CHECK(c.params_before == attn_params);
  CHECK(c.params_after == 0);
  CHECK(c.new_ops == std::vector<std::string>{"l0.attn.out.fnet.split", "l0.attn.out.fnet"});
  const auto& skipped = results[0].skipped;
  CHECK(std::find(skipped.begin(), skipped.end(), "l0.attn.q") != skipped.end());
  CHECK(std::find(skipped.begin(), skipped.end(), "l0.ffn.up") != skipped.end());
  for (const auto& op : w.ops()) {
    CHECK(op.name() != "l0.attn.q");
    CHECK(op.name() != "l0.attn.softmax");
    CHECK(op.name() != "l0.attn.context");
  }
  CHECK(ir::find_tensor(w, "l0.attn.q.weight") == nullptr);  // unused weights are removed
  const ir::v1::Op* fft = nullptr;
  for (const auto& op : w.ops())
    if (op.name() == "l0.attn.out.fnet") fft = &op;
  REQUIRE(fft);
  CHECK(fft->fft().lengths(0) == seq);
  CHECK(fft->fft().lengths(1) == hidden);
  CHECK(fft->fft().real_output());
  CHECK(ir::validate(w).empty());

  // The mixing output is the real part of the 2-D DFT of every sequence's [seq, hidden] block.
  Array x{{batch * seq, hidden}, random_values(batch * seq * hidden, 9)};
  const Executor ex(w);
  const auto values = ex.run({{"x", x}});
  const Array& mixed = values.at("l0.attn.out.out");
  REQUIRE(mixed.size() == x.size());
  double err = 0, norm = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s)
      for (int64_t h = 0; h < hidden; ++h) {
        double ref = 0;
        for (int64_t s2 = 0; s2 < seq; ++s2)
          for (int64_t h2 = 0; h2 < hidden; ++h2)
            ref += x.data[static_cast<size_t>((b * seq + s2) * hidden + h2)] *
                   std::cos(
                       2 * M_PI *
                       (static_cast<double>(s * s2) / seq + static_cast<double>(h * h2) / hidden));
        const double got = mixed.data[static_cast<size_t>((b * seq + s) * hidden + h)];
        err += (got - ref) * (got - ref);
        norm += ref * ref;
      }
  CHECK(std::sqrt(err / norm) < 1e-5);
}

TEST_CASE("fnet: non-power-of-two sizes are padded and said so", "[unit]") {
  ir::v1::Workload w = encoder(1, 6, 24);
  auto results = run("pipeline: [{transform: fnet, select: {name: \"l0.attn.out\"}}]", w, 0);
  const OpChange& c = results[0].changes.at(0);
  bool noted = false;
  for (const auto& n : c.notes)
    noted = noted || n.find("padded to powers of two (8 x 32)") != std::string::npos;
  CHECK(noted);
  CHECK(c.figures.at("seq") == 6);
}

}  // namespace
}  // namespace codesim::compress
