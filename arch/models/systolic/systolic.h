#pragma once
// Dense systolic array (SCALE-Sim v2 conventions) with output-, weight- and input-stationary
// dataflows, double-buffered operand SRAMs and one DRAM port whose bandwidth and latency can
// stall the array. See README.md in this folder for the rules and their validation.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/models/systolic/mapping.h"
#include "sim/core/accelerator.h"
#include "sim/core/params.h"
#include "sim/mem/dram.h"
#include "sim/mem/sram.h"

namespace codesim::arch {

struct SystolicParams {
  int64_t rows = 32;
  int64_t cols = 32;
  std::string dataflow = "os";
  std::string operand = "int8";
  int64_t accumulator_bits = 32;
  int64_t ifmap_sram_kib = 64;
  int64_t filter_sram_kib = 64;
  int64_t ofmap_sram_kib = 64;
  double dram_bandwidth = 0;
  int64_t dram_latency = 0;
  double clock_mhz = 1000;
  bool fold_overlap = false;

  static const sim::ParamSchema<SystolicParams>& schema();
};

class SystolicModel : public sim::Accelerator {
 public:
  using Params = SystolicParams;
  static constexpr const char* kSummary =
      "dense R x C systolic array, SCALE-Sim v2 conventions: os/ws/is dataflows, gemm and conv2d "
      "(im2col), double-buffered SRAMs, DRAM bandwidth/latency stalls";
  // Each op starts from empty buffers and an idle DRAM port, so its figures are its own.
  static constexpr bool kSeparableOps = true;

  SystolicModel(const sc_core::sc_module_name& name, const Params& p);

  bool supports(const ir::v1::Op& op) const override;
  void run_op(const sim::OpTask& task) override;
  std::vector<Component> components() const override;
  double peak_macs_per_cycle() const override;
  YAML::Node resolved_params() const override;

  const Params& params() const { return p_; }
  // Outputs of the last op, when it ran in functional mode, in the output tensor's layout: integer
  // operands give accumulator values (wrapped to accumulator_bits), floating-point ones binary32
  // values.
  const std::vector<int64_t>& last_int_outputs() const { return int_out_; }
  const std::vector<float>& last_fp_outputs() const { return fp_out_; }

 private:
  bool fp() const { return p_.operand == "fp16" || p_.operand == "fp32"; }
  int operand_bits() const;
  int acc_bits() const { return fp() ? 32 : static_cast<int>(p_.accumulator_bits); }
  template <class V, class A>
  void execute(const sim::OpTask& task, const systolic::OpMapping& mp,
               const std::vector<systolic::Fold>& folds);

  Params p_;
  systolic::Dataflow df_;
  sim::DramPort dram_;
  sim::OperandBuffer ifmap_buf_;
  sim::OperandBuffer filter_buf_;
  std::vector<int64_t> int_out_;
  std::vector<float> fp_out_;

  sim::Counter& mac_ops_;
  sim::Counter& sram_ifmap_reads_;
  sim::Counter& sram_filter_reads_;
  sim::Counter& sram_ofmap_writes_;
  sim::Counter& sram_ofmap_reads_;
  sim::Counter& sram_ifmap_fills_;
  sim::Counter& sram_filter_fills_;
  sim::Counter& sram_ofmap_drains_;
  sim::Counter& sram_ofmap_refills_;
  sim::Counter& dram_read_bytes_;
  sim::Counter& dram_write_bytes_;
  sim::Counter& pe_operand_reg_writes_;
  sim::Counter& pe_psum_reg_writes_;
  sim::Counter& folds_;
};

}  // namespace codesim::arch
