// The nm_sparse model on whole workloads: a compressed Fashion-MNIST ViT imported from ONNX
// (per-layer N:M, int8) bit-exact against the reference executor with its attention on chip,
// patch-embedding convolutions as GEMMs; the attention scale fused into the softmax unit; layout,
// reduce and generic ops by their rules.

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "arch/models/nm_sparse/tests/nm_sparse_test_util.h"
#include "compress/pipeline.h"
#include "compress/reference/executor.h"
#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_import.h"

namespace {

using codesim::arch::NmSparseModel;
using codesim::arch::NmSparseParams;
using codesim::sim::Fidelity;
using codesim::test::nm_sparse::add_gemm;
using codesim::test::nm_sparse::add_tensor;
using codesim::test::nm_sparse::ceil_div;
using codesim::test::nm_sparse::Job;
using codesim::test::nm_sparse::job;
using codesim::test::nm_sparse::Models;
namespace ir = codesim::ir::v1;
namespace cmp = codesim::compress;

// Value slots of one reduction column of length k under n:m (a partial last group keeps
// min(n, its size)).
int64_t kept_per_column(int64_t k, int64_t n, int64_t m) { return k / m * n + std::min(n, k % m); }

ir::Op* add_op(ir::Workload& w, const std::string& name, const std::vector<std::string>& in,
               const std::string& out) {
  ir::Op* op = w.add_ops();
  op->set_name(name);
  for (const auto& i : in) op->add_inputs(i);
  op->add_outputs(out);
  return op;
}

}  // namespace

TEST_CASE("nm_sparse: a compressed ONNX ViT runs whole, int8 bit-exact against the executor",
          "[sim]") {
  // Fashion-MNIST ViT (patch conv, 2 encoder layers, head), batch 2, per-layer N:M then int8
  // with symmetric activations.
  codesim::workloads::OnnxImportOptions io;
  io.batch = 2;
  ir::Workload w = codesim::workloads::import_onnx(
      std::string(CODESIM_SOURCE_DIR) + "/workloads/models/fashion_mnist/vit.onnx", io);
  cmp::Array x;
  x.shape = {2, 1, 28, 28};
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < x.size(); ++i) x.data.push_back(nd(rng));
  const cmp::Pipeline pipe = cmp::parse_pipeline(YAML::Load(R"(
pipeline:
  - {transform: nm, select: {name: ".*attn.*"}, n: 2, m: 4}
  - {transform: nm, select: {name: ".*fc1.*"}, n: 2, m: 8}
  - {transform: nm, select: {name: ".*fc2.*"}, n: 4, m: 8, index_format: bitmap}
  - {transform: nm, select: {kind: conv2d}, n: 2, m: 4}
  - {transform: nm, select: {name: "/head/Gemm"}, n: 1, m: 4}
  - {transform: quantize, bits: 8, activations: true, activation_scheme: symmetric}
)"),
                                                 "test");
  cmp::RunOptions ro;
  ro.calibration[w.inputs(0)] = x;
  cmp::run_pipeline(pipe, w, ro);

  // The executor's integer run gives every op's input; the model reads the same values (float
  // data quantized with the tensor's scale, as the executor does).
  const cmp::Executor ex(w, cmp::Arithmetic::kInteger);
  std::map<std::string, cmp::Array> t = ex.run({{w.inputs(0), x}});
  t[w.inputs(0)] = x;
  const std::vector<std::string> integer = ex.integer_ops();
  REQUIRE(integer.size() == 14);  // 12 encoder linears, the patch conv, the head
  for (const auto& name : integer)
    for (const auto& op : w.ops())
      if (op.name() == name) {
        ir::Tensor* a = codesim::ir::find_tensor(w, op.inputs(0));
        a->clear_float_data();
        for (float v : t.at(op.inputs(0)).data) a->add_float_data(v);
      }

  NmSparseParams p;  // the STA config: 16 x 32 PEs x 4 multipliers, all N:M patterns
  p.dram_bandwidth = 96;
  p.dram_latency = 20;
  Models models;
  auto& fast = models.make(p);
  auto& cyc = models.make(p);
  std::vector<Job> jobs;
  for (int op = 0; op < w.ops_size(); ++op) {
    REQUIRE(fast.supports(w.ops(op)));
    jobs.push_back(job(fast, w, op, Fidelity::kFast, true));
  }
  for (int op = 0; op < w.ops_size(); ++op) jobs.push_back(job(cyc, w, op, Fidelity::kCycle, true));
  Models::run(jobs);

  int exact = 0, fused_softmax = 0, fused_scale = 0, sparse = 0;
  for (int i = 0; i < w.ops_size(); ++i) {
    const ir::Op& op = w.ops(i);
    const Job& j = jobs[static_cast<size_t>(i)];
    const Job& c = jobs[static_cast<size_t>(i + w.ops_size())];
    INFO(op.name() << ": " << j.outcome.note);
    CHECK(j.cycles == c.cycles);
    CHECK(j.counters == c.counters);
    CHECK(j.int_out == c.int_out);
    if (op.kind_case() == ir::Op::kSoftmax) {
      CHECK(j.outcome.note.find("pipelined") != std::string::npos);
      fused_softmax += j.cycles == 0 && j.counters.at("dram_read_bytes") == 0;
    }
    if (op.kind_case() == ir::Op::kEltwise && op.eltwise().func() == ir::MUL &&
        j.outcome.note.find("attention scale") != std::string::npos)
      fused_scale += j.cycles == 0;
    const bool engine = op.kind_case() == ir::Op::kGemm || op.kind_case() == ir::Op::kConv2D;
    if (!engine) continue;
    CHECK(j.outcome.functional_mismatches == 0);
    // MACs are conserved: performed + skipped = the op's dense MACs.
    CHECK(j.counters.at("mac_ops") + j.counters.at("sparse_macs_skipped") ==
          static_cast<uint64_t>(codesim::ir::op_macs(w, op)));
    const ir::Tensor* wt = codesim::ir::find_tensor(w, op.inputs(1));
    if (!wt->is_weight()) {  // Q·Kᵀ writes its scores to the attention buffer, not to DRAM
      if (j.outcome.note.find("scores stay on chip") != std::string::npos)
        CHECK(j.counters.at("dram_write_bytes") == 0);
      continue;
    }
    REQUIRE(wt->structure().has_nm());
    ++sparse;
    const auto& nm = wt->structure().nm();
    const bool conv = op.kind_case() == ir::Op::kConv2D;
    const int64_t k =
        conv ? op.conv2d().c() * op.conv2d().kernel_h() * op.conv2d().kernel_w() : op.gemm().k();
    const int64_t n = conv ? op.conv2d().filters() : op.gemm().n();
    const int64_t rows = codesim::ir::op_macs(w, op) / (k * n);
    const int64_t kept = kept_per_column(k, nm.n(), nm.m()) * n;
    // Weights cross DRAM once, compressed: kept values + the transform's index metadata.
    CHECK(j.counters.at("dram_weight_bytes") ==
          static_cast<uint64_t>(kept + nm.metadata_bits() / 8));
    CHECK(j.counters.at("mac_ops") == static_cast<uint64_t>(kept * rows));
    if (std::find(integer.begin(), integer.end(), op.name()) == integer.end()) continue;
    // Dequantize the accumulators as the executor does: acc · (s_x · s_w[channel]) + bias.
    const ir::Tensor* xt = codesim::ir::find_tensor(w, op.inputs(0));
    const ir::Tensor* bias = codesim::ir::find_tensor(w, op.inputs(2));
    for (int32_t z : wt->quantization().zero_point()) REQUIRE(z == 0);  // symmetric weights
    REQUIRE(bias);
    const cmp::Array& want = t.at(op.outputs(0));
    REQUIRE(j.int_out.size() == want.data.size());
    int64_t differ = 0;
    const int64_t px = rows / std::max<int64_t>(1, conv ? op.conv2d().batch() : 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t ch = 0; ch < n; ++ch) {
        const int sc = wt->quantization().scale_size() == 1 ? 0 : static_cast<int>(ch);
        const double scale = static_cast<double>(xt->quantization().scale(0)) *
                             static_cast<double>(wt->quantization().scale(sc));
        const float y =
            static_cast<float>(static_cast<double>(j.int_out[static_cast<size_t>(r * n + ch)]) *
                               scale) +
            bias->float_data(static_cast<int>(ch));
        // GEMM rows are (batch, pixel) for the conv, whose reference output is NCHW.
        const int64_t at = conv ? ((r / px) * n + ch) * px + r % px : r * n + ch;
        differ += y != want.data[static_cast<size_t>(at)];
      }
    CHECK(differ == 0);
    ++exact;
  }
  CHECK(exact == 14);
  CHECK(sparse == 14);
  CHECK(fused_softmax == 2);
  CHECK(fused_scale == 2);
}

TEST_CASE("nm_sparse: a patch-embedding convolution runs as its GEMM", "[sim]") {
  // 2 images, 3 x 30 x 30, 7 x 7 patches (the last 2 rows and columns belong to no patch):
  // M = 2 · 4 · 4, K = 3 · 49, N = 20.
  ir::Workload w;
  ir::Op* conv = add_op(w, "patch", {"patch.x", "patch.w"}, "patch.out");
  auto* c = conv->mutable_conv2d();
  c->set_batch(2);
  c->set_c(3);
  c->set_h(30);
  c->set_w(30);
  c->set_filters(20);
  c->set_kernel_h(7);
  c->set_kernel_w(7);
  c->set_stride_h(7);
  c->set_stride_w(7);
  add_tensor(w, "patch.x", {2, 3, 30, 30}, false);
  add_tensor(w, "patch.w", {20, 3, 7, 7}, true);
  add_tensor(w, "patch.out", {2, 20, 4, 4}, false);
  add_gemm(w, "as_gemm", 32, 20, 147);
  ir::Workload sw = w;  // the same two ops with 2:4 weights
  for (auto& t : *sw.mutable_tensors())
    if (t.is_weight()) {
      t.mutable_structure()->mutable_nm()->set_n(2);
      t.mutable_structure()->mutable_nm()->set_m(4);
    }
  ir::Workload overlapping = w;
  overlapping.mutable_ops(0)->mutable_conv2d()->set_stride_h(3);

  std::vector<NmSparseParams> ps;
  for (const char* operand : {"int8", "int16", "fp16"}) {
    NmSparseParams p;
    p.rows = 4;
    p.cols = 8;
    p.mults_per_pe = 2;
    p.operand = operand;
    p.dram_bandwidth = 7;
    p.dram_latency = 5;
    ps.push_back(p);
  }
  Models models;
  std::vector<NmSparseModel*> fast, cyc;
  for (const auto& p : ps) {
    fast.push_back(&models.make(p));
    cyc.push_back(&models.make(p));
  }
  CHECK_FALSE(fast[0]->supports(overlapping.ops(0)));
  std::vector<Job> jobs;
  for (size_t i = 0; i < ps.size(); ++i)
    for (const ir::Workload* x : {&w, &sw})
      for (int op = 0; op < 2; ++op) {
        jobs.push_back(job(*fast[i], *x, op, Fidelity::kFast, true));
        jobs.push_back(job(*cyc[i], *x, op, Fidelity::kCycle, true));
      }
  Models::run(jobs);
  for (size_t i = 0; i < jobs.size(); i += 4) {
    INFO("operand " << ps[i / 8].operand << " sparse " << (i / 4) % 2);
    const Job& conv_fast = jobs[i];
    const Job& gemm_fast = jobs[i + 2];
    // The conv is timed exactly as its GEMM: same folds, same bytes (no duplicated patches).
    CHECK(conv_fast.cycles == gemm_fast.cycles);
    CHECK(conv_fast.counters == gemm_fast.counters);
    for (size_t j = i; j < i + 4; ++j) CHECK(jobs[j].outcome.functional_mismatches == 0);
    CHECK(jobs[i].cycles == jobs[i + 1].cycles);
    CHECK(jobs[i].int_out == jobs[i + 1].int_out);
    CHECK(jobs[i].fp_out == jobs[i + 1].fp_out);
    const bool sparse = (i / 4) % 2 == 1;
    const int64_t k = sparse ? kept_per_column(147, 2, 4) : 147;
    CHECK(conv_fast.counters.at("mac_ops") == static_cast<uint64_t>(32 * 20 * k));
    CHECK(conv_fast.counters.at("dram_read_bytes") >=
          static_cast<uint64_t>(32 * 147 * (ps[i / 8].operand == "int8" ? 1 : 2)));
  }
}

TEST_CASE("nm_sparse: an attention scale between Q·Kᵀ and the softmax is fused into it", "[sim]") {
  // scores = Q·Kᵀ [2 heads, 32, 32]; then x 1/4 (scalar), / 4 (scalar) or + mask [32, 32],
  // softmax; S·V.
  const int64_t heads = 2, seq = 32, hd = 16;
  const auto chain = [&](const std::string& kind) {
    ir::Workload w;
    add_tensor(w, "q", {heads, seq, hd}, false);
    add_tensor(w, "kt", {heads, hd, seq}, false);
    add_tensor(w, "v", {heads, seq, hd}, false);
    add_tensor(w, "scores", {heads, seq, seq}, false);
    add_tensor(w, "scaled", {heads, seq, seq}, false);
    add_tensor(w, "probs", {heads, seq, seq}, false);
    add_tensor(w, "ctx", {heads, seq, hd}, false);
    add_tensor(w, "c", kind == "mask" ? std::vector<int64_t>{seq, seq} : std::vector<int64_t>{1},
               true);
    ir::Op* qk = add_op(w, "qk", {"q", "kt"}, "scores");
    qk->mutable_gemm()->set_batch(heads);
    qk->mutable_gemm()->set_m(seq);
    qk->mutable_gemm()->set_n(seq);
    qk->mutable_gemm()->set_k(hd);
    ir::Op* s = add_op(w, "scale", {"scores", "c"}, "scaled");
    s->mutable_eltwise()->set_func(kind == "mul" ? ir::MUL : kind == "div" ? ir::DIV : ir::MUL);
    s->mutable_eltwise()->set_elements(heads * seq * seq);
    ir::Op* sm = add_op(w, "softmax", {"scaled"}, "probs");
    sm->mutable_softmax()->set_rows(heads * seq);
    sm->mutable_softmax()->set_length(seq);
    ir::Op* sv = add_op(w, "sv", {"probs", "v"}, "ctx");
    sv->mutable_gemm()->set_batch(heads);
    sv->mutable_gemm()->set_m(seq);
    sv->mutable_gemm()->set_n(hd);
    sv->mutable_gemm()->set_k(seq);
    return w;
  };
  const std::vector<ir::Workload> ws = {chain("mul"), chain("div"), chain("mask")};
  NmSparseParams p;
  p.rows = 4;
  p.cols = 8;
  p.mults_per_pe = 2;
  p.dram_bandwidth = 16;
  Models models;
  std::vector<NmSparseModel*> ms;
  for (size_t i = 0; i < ws.size(); ++i) ms.push_back(&models.make(p));
  std::vector<Job> jobs;
  for (size_t i = 0; i < ws.size(); ++i)
    for (int op = 0; op < 4; ++op) jobs.push_back(job(*ms[i], ws[i], op));
  Models::run(jobs);
  const uint64_t scores = heads * seq * seq;
  for (size_t i = 0; i < 2; ++i) {
    INFO(ws[i].ops(1).eltwise().func());
    CHECK(jobs[4 * i].counters.at("dram_write_bytes") == 0);
    CHECK(jobs[4 * i + 1].cycles == 0);
    CHECK(jobs[4 * i + 1].counters.at("softmax_mults") == scores);
    CHECK(jobs[4 * i + 1].counters.at("dram_read_bytes") == 0);
    CHECK(jobs[4 * i + 2].cycles == 0);
    CHECK(jobs[4 * i + 3].counters.at("dram_read_bytes") == heads * seq * hd);
  }
  // A mask is not a scalar: the scores go to DRAM, the add runs on the vector unit.
  CHECK(jobs[8].counters.at("dram_write_bytes") == scores);
  CHECK(jobs[9].counters.at("dram_read_bytes") == scores + seq * seq);
  CHECK(jobs[9].counters.at("vector_mults") == scores);
  CHECK(jobs[10].cycles > 0);
}

TEST_CASE("nm_sparse: layout ops are free, reduce and generic ops follow their closed forms",
          "[sim]") {
  ir::Workload w;
  add_tensor(w, "x", {4, 16, 40}, false);
  add_tensor(w, "xt", {4, 40, 16}, false);
  add_tensor(w, "xr", {64, 40}, false);
  add_tensor(w, "mean", {4, 40}, false);
  add_tensor(w, "g", {1}, false);
  add_op(w, "t", {"x"}, "xt")->mutable_transpose();
  add_op(w, "r", {"x"}, "xr")->mutable_reshape();
  ir::Op* red = add_op(w, "mean", {"x"}, "mean");
  red->mutable_reduce()->set_kind(ir::REDUCE_MEAN);
  red->mutable_reduce()->add_axes(1);
  ir::Op* gen = add_op(w, "gather", {"x"}, "g");
  gen->mutable_generic()->set_op_type("Gather");
  gen->mutable_generic()->set_bytes_read(1000);
  gen->mutable_generic()->set_bytes_written(600);
  NmSparseParams p;
  p.vector_lanes = 32;
  p.vector_latency = 8;
  p.dram_bandwidth = 10;
  Models models;
  auto& m = models.make(p);
  std::vector<Job> jobs;
  for (int op = 0; op < w.ops_size(); ++op) jobs.push_back(job(m, w, op));
  Models::run(jobs);
  for (int i = 0; i < 2; ++i) {
    CHECK(jobs[i].cycles == 0);
    CHECK(jobs[i].counters.at("dram_read_bytes") == 0);
  }
  // Reduce: 2560 elements through 32 lanes + 8 cycles of pipeline; 2560 B read and 160 B
  // written through 10 B/cycle = 272 cycles of port time, which is the longer.
  CHECK(jobs[2].counters.at("vector_adds") == 4 * 16 * 40);
  CHECK(jobs[2].counters.at("vector_mults") == 4 * 40);
  CHECK(jobs[2].cycles == static_cast<uint64_t>(ceil_div(2560 + 160, 10)));
  CHECK(jobs[2].outcome.stall_cycles == jobs[2].cycles - (2560 / 32 + 8));
  // Generic: only its traffic.
  CHECK(jobs[3].counters.at("dram_read_bytes") == 1000);
  CHECK(jobs[3].counters.at("dram_write_bytes") == 600);
  CHECK(jobs[3].cycles == 160);
}
