#pragma once
// Tensor-decomposed LSTM accelerator: the contraction datapath of FDHT-LSTM (Gong et al., IEEE
// TC 2022: hierarchical Tucker, input-to-hidden and hidden-to-hidden compressed together, a
// conflict-free memory-access scheme for the reshapes between stages) and of its baseline TIE
// (Deng et al., ISCA 2019: tensor train, 16 PEs at 1 GHz, ping-pong working SRAMs). One model,
// configured by YAML; the structure annotations of the workload (tt / ht transforms) decide what
// is compressed. README.md in this folder states the rules and the measured figures.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/models/tensor_lstm/contraction_engine.h"
#include "arch/models/tensor_lstm/layer.h"
#include "sim/core/accelerator.h"
#include "sim/core/params.h"

namespace codesim::arch {

struct TensorLstmParams {
  int64_t pes = 16;
  int64_t macs_per_pe = 1;
  int64_t banks = 0;
  std::string precision = "int16";
  double clock_mhz = 1000;
  int64_t weight_sram_kib = 64;
  int64_t work_sram_kib = 256;
  int64_t state_sram_kib = 4;
  std::string memory_scheme = "fdht";
  std::string contraction_order = "min_macs";
  int64_t gate_lanes = 16;
  int64_t act_segments = 256;
  double act_range = 8.0;
  double dram_bandwidth = 0;
  double functional_tolerance = 1e-3;

  static const sim::ParamSchema<TensorLstmParams>& schema();
};

// The activation unit: tanh from a table of `segments` + 1 points over [-range, range] with
// linear interpolation (clamped to +-1 outside), sigmoid(x) = (1 + tanh(x / 2)) / 2.
class PiecewiseLinearTanh {
 public:
  PiecewiseLinearTanh(int64_t segments, double range);
  float tanh(float x) const;
  float sigmoid(float x) const { return 0.5f + 0.5f * tanh(0.5f * x); }
  // max |tanh - table| over the range: max|tanh''| h^2 / 8 with h the segment width, plus the
  // clamp error 1 - tanh(range).
  double tanh_error_bound() const;

 private:
  double range_, step_;
  std::vector<float> table_;
};

class TensorLstmModel : public sim::Accelerator {
 public:
  using Params = TensorLstmParams;
  static constexpr const char* kSummary =
      "tensor-decomposed LSTM engine (FDHT-LSTM hierarchical Tucker, TIE tensor train): staged "
      "einsum contractions on P PEs, ping-pong banked working SRAM with FDHT or naive layouts, "
      "PWL sigmoid/tanh gate unit";

  TensorLstmModel(const sc_core::sc_module_name& name, const Params& p);

  bool supports(const ir::v1::Op& op) const override;
  void run_op(const sim::OpTask& task) override;
  std::vector<Component> components() const override;
  double peak_macs_per_cycle() const override;
  YAML::Node resolved_params() const override;

  const Params& params() const { return p_; }
  // Functional mode: the op's outputs (lstm_cell: Y [steps, batch, H]) and their largest
  // absolute difference from the reference executor.
  const std::vector<float>& last_outputs() const { return out_; }
  double last_max_error() const { return max_error_; }

 private:
  int bits() const;
  bool fp() const { return p_.precision == "fp16" || p_.precision == "fp32"; }
  tensor_lstm::EngineConfig engine(const sim::OpTask& task) const;
  // Applies one stage's counts to the counters and waits its cycles.
  void time_stage(const tensor_lstm::Stage& s, const tensor_lstm::StageEvents& e);
  void run_lstm(const sim::OpTask& task);
  void run_linear(const sim::OpTask& task);
  void run_vector(const sim::OpTask& task);
  uint64_t dram_cycles(int64_t bytes) const;

  Params p_;
  PiecewiseLinearTanh act_;
  std::vector<float> out_;
  double max_error_ = 0;
  std::vector<tensor_lstm::LayerSchedule> layers_;

  sim::Counter& mac_ops_;
  sim::Counter& work_reads_;
  sim::Counter& work_writes_;
  sim::Counter& weight_reads_;
  sim::Counter& weight_writes_;
  sim::Counter& gate_ops_;
  sim::Counter& lut_reads_;
  sim::Counter& state_reads_;
  sim::Counter& state_writes_;
  sim::Counter& dram_read_bytes_;
  sim::Counter& dram_write_bytes_;
  sim::Counter& bank_conflicts_;
  sim::Counter& conflict_stalls_;
  sim::Counter& dram_stalls_;
  sim::Counter& stages_;
  sim::Counter& weights_off_chip_;
};

}  // namespace codesim::arch
