#pragma once
// FABNet's adaptable butterfly accelerator (Fan et al., MICRO 2022): a butterfly processor of
// `engines` butterfly engines x `units_per_engine` adaptable butterfly units (butterfly-linear or
// FFT mode per layer), an attention processor (QK and SV MAC units per head, softmax), a
// post-processor (shortcut add, LayerNorm, activations on the write-back path), and separate
// input / coefficient / output off-chip ports. With `engines: 0` and `dense_multipliers` it is the
// paper's dense baseline. See README.md in this folder for every rule and its validation.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arch/models/butterfly/engine.h"
#include "arch/models/butterfly/schedule.h"
#include "sim/core/accelerator.h"
#include "sim/core/params.h"

namespace codesim::arch {

struct ButterflyParams {
  int64_t engines = 120;
  int64_t units_per_engine = 4;
  double clock_mhz = 200;
  int64_t input_port_bits = 2048;
  int64_t coef_port_bits = 256;
  int64_t output_port_bits = 2048;
  int64_t unit_latency = 7;
  int64_t max_length = 4096;
  int64_t weight_buffer_depth = 1024;
  int64_t shortcut_depth = 1024;
  bool skew = true;
  int64_t heads = 0;
  int64_t qk_macs = 0;
  int64_t sv_macs = 0;
  int64_t dense_multipliers = 0;
  int64_t postp_lanes = 16;

  static const sim::ParamSchema<ButterflyParams>& schema();
};

// FPGA resources from the paper's analytical model (see README for the packing rules).
struct FpgaEstimate {
  int64_t multipliers = 0;   // DSP = 4 P_be P_bu + P_head (P_qk + P_sv) (+ dense engine)
  int64_t bram36 = 0;        // engine banks, weight buffer, query/key buffers
  int64_t postp_bram36 = 0;  // shortcut FIFOs (not in the paper's Table VII builds)
  int64_t luts = 0;
};

class ButterflyModel : public sim::Accelerator {
 public:
  using Params = ButterflyParams;
  static constexpr const char* kSummary =
      "FABNet adaptable butterfly accelerator (MICRO 2022): P_be engines x P_bu adaptable "
      "butterfly units (butterfly/FFT modes), skewed conflict-free banks, attention and post "
      "processors, separate input/coefficient/output ports; engines: 0 = dense baseline";

  ButterflyModel(const sc_core::sc_module_name& name, const Params& p);

  bool supports(const ir::v1::Op& op) const override;
  void run_op(const sim::OpTask& task) override;
  std::vector<Component> components() const override;
  double peak_macs_per_cycle() const override;
  YAML::Node resolved_params() const override;

  const Params& params() const { return p_; }
  static FpgaEstimate estimate_fpga(const Params& p);
  // Functional outputs of the last butterfly/fft op (real outputs, or (re, im) pairs).
  const std::vector<float>& last_outputs() const { return out_; }
  // The planned runs of the last butterfly-processor op (for tests).
  const std::vector<butterfly::RunTimes>& last_runs() const { return last_runs_; }

 private:
  struct Fusion {
    int64_t shortcut_bits_per_row = 0;
    std::vector<std::string> shortcut_operands;  // the residual tensors of shortcut adds
    int64_t postp_ops_per_row = 0;
    int64_t layernorm_width = 0;
    int64_t rows = 0;
  };
  int op_index(const sim::OpTask& task) const;
  Fusion plan_fusion(const ir::v1::Workload& w, int index);
  bool is_last_op(const ir::v1::Workload& w, int index) const;
  std::vector<butterfly::PassSpec> passes(const ir::v1::Workload& w, const ir::v1::Op& op) const;
  uint64_t run_bp(const sim::OpTask& task, int index);
  // kScores: Q.K^T whose scores stay on chip; kContext: S.V on the S.V units, reading the
  // on-chip probabilities.
  enum class DenseRole { kAny, kScores, kContext };
  // A GEMM (or a butterfly / FFT as the dense product it equals) on the multiplier arrays.
  uint64_t run_dense(const sim::OpTask& task, uint64_t start, DenseRole role);
  uint64_t run_postp(const sim::OpTask& task, uint64_t start);
  // Whether ops index..index+2 are Q.K^T, softmax, S.V (run as one pipelined attention).
  bool attention_start(const ir::v1::Workload& w, int index) const;
  uint64_t attention_pipeline(const sim::OpTask& task, int index, uint64_t start);
  // One vector's compute on an engine: traced through the banks (cycle fidelity), or the closed
  // form (fast fidelity; traced once per shape where the closed form does not hold).
  butterfly::VectorTrace vector_timing(const butterfly::PassSpec& p, bool trace);
  void functional(const sim::OpTask& task);

  Params p_;
  butterfly::BankLayout layout_;
  butterfly::RunPipeline pipe_;
  std::map<std::pair<int64_t, int>, butterfly::VectorTrace> timing_cache_;
  std::vector<butterfly::RunTimes> last_runs_;
  std::vector<float> out_;
  int fused_until_ = -1;  // ops up to this index were fused into a producer's write-back
  // When each tensor an op of this model produced is completely stored, and the rows of the last
  // butterfly-processor output (for the attention processor to start on its first rows).
  std::map<std::string, uint64_t> ready_;
  std::string last_bp_output_;
  // The rows the last butterfly-processor op loaded whole (one row per engine, one row group)
  // and so left in the engines' shortcut FIFOs: tensor name and rows; empty if none.
  std::string cached_rows_tensor_;
  int64_t cached_rows_ = 0;
  std::vector<std::pair<int64_t, uint64_t>> last_bp_rows_;
  uint64_t ap_free_ = 0;
  bool started_ = false;  // the run pipeline's clock was aligned with the model's first op

  sim::Counter& bu_muls_;
  sim::Counter& bu_adds_;
  sim::Counter& bank_reads_;
  sim::Counter& bank_writes_;
  sim::Counter& coef_reads_;
  sim::Counter& coef_writes_;
  sim::Counter& shortcut_accesses_;
  sim::Counter& postp_ops_;
  sim::Counter& ap_macs_;
  sim::Counter& dense_macs_;
  sim::Counter& dram_read_bytes_;
  sim::Counter& dram_write_bytes_;
  sim::Counter& bank_conflict_cycles_;
  sim::Counter& dependency_stalls_;
  sim::Counter& runs_;
  sim::Counter& bp_busy_cycles_;
};

}  // namespace codesim::arch
