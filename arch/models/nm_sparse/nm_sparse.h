#pragma once
// STA-style N:M sparse Transformer accelerator (Fang, Zhou, Wang, IEEE TVLSI 2022): a unified
// matrix engine whose PEs feed their multipliers through M:1 selectors driven by stored N:M
// indices (sparse–dense mode) or bypass them (dense–dense mode, Q·Kᵀ and S·V), a row-pipelined
// softmax unit that keeps the attention matrix on chip, and a vector unit for LayerNorm and
// element-wise ops. See README.md in this folder for the rules and every assumption.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "arch/models/nm_sparse/gemm.h"
#include "arch/models/nm_sparse/nm_format.h"
#include "sim/core/accelerator.h"
#include "sim/core/params.h"
#include "sim/mem/dram.h"
#include "sim/mem/sram.h"

namespace codesim::arch {

struct NmSparseParams {
  int64_t rows = 16;
  int64_t cols = 32;
  int64_t mults_per_pe = 4;
  std::string supported_nm = "1:4,2:4,1:8,2:8,4:8,4:16,8:16";
  std::string operand = "int8";
  int64_t ifmap_sram_kib = 512;
  int64_t weight_sram_kib = 512;
  int64_t ofmap_sram_kib = 256;
  int64_t attn_sram_kib = 256;
  double dram_bandwidth = 0;
  int64_t dram_latency = 0;
  double clock_mhz = 200;
  bool fold_overlap = true;
  int64_t softmax_lanes = 16;
  int64_t softmax_latency = 24;
  int64_t vector_lanes = 32;
  int64_t vector_latency = 8;
  std::string nm_rules;
  std::string index_format = "indices";

  static const sim::ParamSchema<NmSparseParams>& schema();
};

class NmSparseModel : public sim::Accelerator {
 public:
  using Params = NmSparseParams;
  static constexpr const char* kSummary =
      "STA-style N:M sparse transformer accelerator: weight-stationary PE array with M:1 index "
      "selectors (sparse-dense) or bypass (dense-dense), compressed weights in SRAM and DRAM, "
      "row-pipelined softmax keeping attention on chip, LayerNorm/eltwise vector unit";

  NmSparseModel(const sc_core::sc_module_name& name, const Params& p);

  bool supports(const ir::v1::Op& op) const override;
  void run_op(const sim::OpTask& task) override;
  std::vector<Component> components() const override;
  double peak_macs_per_cycle() const override;
  YAML::Node resolved_params() const override;

  const Params& params() const { return p_; }
  // Accumulator outputs of the last gemm run in functional mode (integer operands, wrapped to 32
  // bits; row-major subs × M × N) or its fp32 outputs.
  const std::vector<int64_t>& last_int_outputs() const { return int_out_; }
  const std::vector<float>& last_fp_outputs() const { return fp_out_; }
  // How the last gemm ran: the pattern the hardware used ("dense" for dense mode).
  const nm_sparse::NmPattern& last_pattern() const { return last_pattern_; }

  struct WeightChoice {
    nm_sparse::NmPattern declared, run;
    nm_sparse::IndexFormat format = nm_sparse::IndexFormat::kIndices;
    bool weight = true;  // B is a weight (else dense–dense mode)
    std::string source;  // "annotation", "rule <regex>" or ""
  };
  WeightChoice choose(const ir::v1::Workload& w, const ir::v1::Op& op) const;

 private:
  bool fp() const { return p_.operand == "fp16"; }
  int operand_bits() const { return p_.operand == "int8" ? 8 : 16; }
  int max_m() const;
  int selector_shifters() const;
  void run_gemm(const sim::OpTask& task);
  void run_vector(const sim::OpTask& task);
  template <class V, class A>
  void execute(const sim::OpTask& task, const WeightChoice& wc, const nm_sparse::GemmMap& mp);
  struct Chain {
    int scale = -1, softmax = -1, sv = -1;
  };
  Chain attention_chain(const ir::v1::Workload& w, const ir::v1::Op& op) const;

  Params p_;
  std::vector<nm_sparse::NmPattern> supported_;
  std::vector<nm_sparse::NmRule> rules_;
  sim::DramPort dram_;
  sim::OperandBuffer ifmap_buf_, weight_buf_;
  std::vector<int64_t> int_out_;
  std::vector<float> fp_out_;
  nm_sparse::NmPattern last_pattern_;

  // Attention chains in flight: Q·Kᵀ output rows per sub (cycle of row 0), by softmax op name,
  // the cycle each sub's S·V folds may start, by S·V op name.
  struct QkRows {
    std::vector<uint64_t> row0;
    int64_t rows = 0;
    std::string sv;  // the S·V op that reads the probabilities
  };
  std::map<std::string, QkRows> softmax_pending_;
  std::map<std::string, std::vector<uint64_t>> sv_pending_;
  std::set<std::string> scale_pending_;  // attention scales folded into the softmax unit

  sim::Counter& mac_ops_;
  sim::Counter& selector_ops_;
  sim::Counter& sram_ifmap_reads_;
  sim::Counter& sram_weight_reads_;
  sim::Counter& sram_ofmap_writes_;
  sim::Counter& sram_ofmap_reads_;
  sim::Counter& sram_ifmap_fills_;
  sim::Counter& sram_weight_fills_;
  sim::Counter& sram_ofmap_drains_;
  sim::Counter& sram_ofmap_refills_;
  sim::Counter& sram_attn_reads_;
  sim::Counter& sram_attn_writes_;
  sim::Counter& dram_read_bytes_;
  sim::Counter& dram_write_bytes_;
  sim::Counter& dram_weight_bytes_;
  sim::Counter& weight_reg_writes_;
  sim::Counter& index_reg_writes_;
  sim::Counter& psum_reg_writes_;
  sim::Counter& softmax_adds_;
  sim::Counter& softmax_mults_;
  sim::Counter& vector_adds_;
  sim::Counter& vector_mults_;
  sim::Counter& folds_;
  sim::Counter& sparse_macs_saved_;
};

}  // namespace codesim::arch
