#pragma once
// NASA (Shi, You, Zhao, Wang, Lin, ICCAD 2022): a chunk-based accelerator for multiplication-
// reduced networks. Three sub-processors share DRAM, a global buffer (GB) and a NoC: multiply
// PEs (CLP), shift-and-accumulate PEs for power-of-two weights (SLP) and subtract-abs-accumulate
// PEs for adder layers (ALP). Each PE has ifmap, weight and psum register files. Chunks are
// layer-pipelined over different inputs, so throughput is set by the busiest chunk. Each chunk
// runs one dataflow (rs, is, ws, os) with loop tiling over DRAM, GB, NoC and RF; the auto-mapper
// picks the dataflows (4^3 combinations) and tilings for the least EDP. See README.md.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arch/models/shiftadd/mapper.h"
#include "arch/tech/tech.h"
#include "sim/core/accelerator.h"
#include "sim/core/params.h"

namespace codesim::arch {

struct ShiftAddParams {
  double clock_mhz = 250;
  int64_t mult_pes = 168;
  int64_t shift_pes = 0;
  int64_t adder_pes = 0;
  int64_t area_budget_mult_pes = 0;
  double op_mix_mult = 0;
  double op_mix_shift = 0;
  double op_mix_adder = 0;
  int64_t mult_bits = 8;
  int64_t shift_bits = 6;
  int64_t adder_bits = 6;
  int64_t psum_bits = 24;
  int64_t datapath_bits = 0;
  int64_t ifmap_rf_bytes = 24;
  int64_t weight_rf_bytes = 448;
  int64_t psum_rf_bytes = 72;
  std::string rf_sizing = "bytes";
  int64_t gb_bytes = 131072;
  double dram_bandwidth = 0;
  std::string dataflow_mult = "auto";
  std::string dataflow_shift = "auto";
  std::string dataflow_adder = "auto";
  std::string mapper_objective = "edp";
  std::string gb_partition = "pes";
  std::string cost_table = "generic45";

  static const sim::ParamSchema<ShiftAddParams>& schema();
};

class ShiftAddModel : public sim::Accelerator {
 public:
  using Params = ShiftAddParams;
  static constexpr const char* kSummary =
      "NASA chunk accelerator: multiply, shift (pow2 weights) and adder (-sum|x-w|) PE chunks "
      "sharing DRAM/GB/NoC, layer-pipelined; rs/is/ws/os dataflows with DRAM/GB/NoC/RF tiling "
      "and an EDP auto-mapper; PEs per chunk given or allocated by op counts under an area budget";

  ShiftAddModel(const sc_core::sc_module_name& name, const Params& p);

  bool supports(const ir::v1::Op& op) const override;
  void run_op(const sim::OpTask& task) override;
  std::vector<Component> components() const override;
  double peak_macs_per_cycle() const override;
  YAML::Node resolved_params() const override;
  // With an area budget and no op_mix_* given: allocates the PEs by the workload's MACs per chunk.
  void bind_workload(const ir::v1::Workload& w) override;

  const Params& params() const { return p_; }
  int64_t pes(shiftadd::Chunk c) const { return pes_[static_cast<int>(c)]; }
  const shiftadd::ChunkHw& chunk_hw(shiftadd::Chunk c) const { return hw_[static_cast<int>(c)]; }
  const shiftadd::UnitCosts& unit_costs(shiftadd::Chunk c) const {
    return costs_[static_cast<int>(c)];
  }
  int64_t gb_bits() const { return p_.gb_bytes * 8; }
  // The GB bits the layers of chunk c may tile into: all of it, or (gb_partition: pes, with
  // several chunks running concurrently) the chunk's share in proportion to its PEs. Valid once
  // an op has run.
  int64_t gb_share_bits(shiftadd::Chunk c) const { return gb_share_[static_cast<int>(c)]; }
  // The dataflow each chunk ran (after the auto-mapper), valid once an op has run.
  shiftadd::Dataflow chosen_dataflow(shiftadd::Chunk c) const {
    return chosen_[static_cast<int>(c)];
  }
  // The mapping of an op by name (after the first run_op).
  const shiftadd::Mapping* mapping(const std::string& op) const;
  // Outputs of the last op in functional mode: integer accumulator values in the output tensor's
  // layout (mult: sum (q_x - z_x)(q_w - z_w); shift: sum (q_x - z_x) * sign * 2^(p - p_min),
  // adder: -sum |(q_x - z_x) - q_w|).
  const std::vector<int64_t>& last_outputs() const { return out_; }

 private:
  struct Planned {
    shiftadd::Layer layer;
    shiftadd::Chunk chunk = shiftadd::Chunk::kMult;
    std::array<shiftadd::Mapping, shiftadd::kDataflows> by_dataflow;
  };
  void plan(const ir::v1::Workload& w);
  Component pe_component(shiftadd::Chunk c, int part) const;
  Component rf_component(shiftadd::Chunk c, int which) const;
  // Words and bytes of RF `which` (0 ifmap, 1 weight, 2 psum) of one PE of chunk c.
  int64_t rf_words(shiftadd::Chunk c, int which) const;
  int64_t rf_bytes(shiftadd::Chunk c, int which) const;
  int chunk_bits(shiftadd::Chunk c) const;
  // One PE of chunk c with its three RFs, priced by cost_table.
  double pe_area_um2(shiftadd::Chunk c) const;
  void allocate(const std::array<double, shiftadd::kChunks>& ops);
  void execute(const sim::OpTask& task, const Planned& pl, const shiftadd::Mapping& m);

  Params p_;
  TechTable cost_table_;
  std::array<int64_t, shiftadd::kChunks> pes_{};
  std::array<shiftadd::ChunkHw, shiftadd::kChunks> hw_{};
  std::array<shiftadd::UnitCosts, shiftadd::kChunks> costs_{};
  std::array<std::string, shiftadd::kChunks> dataflow_param_;
  std::array<shiftadd::Dataflow, shiftadd::kChunks> chosen_{};
  std::array<bool, shiftadd::kChunks> used_{};
  std::array<int64_t, shiftadd::kChunks> gb_share_{};
  std::array<double, shiftadd::kChunks> op_mix_{};
  bool planned_ = false;
  std::map<std::string, Planned> plan_;
  std::vector<int64_t> out_;
  std::array<uint64_t, shiftadd::kChunks> busy_{};

  sim::Counter& mult_macs_;
  sim::Counter& shift_ops_;
  sim::Counter& shift_accs_;
  sim::Counter& adder_subs_;
  sim::Counter& adder_accs_;
  std::array<sim::Counter*, shiftadd::kChunks> rf_ifmap_reads_{};
  std::array<sim::Counter*, shiftadd::kChunks> rf_weight_reads_{};
  std::array<sim::Counter*, shiftadd::kChunks> rf_psum_reads_{};
  std::array<sim::Counter*, shiftadd::kChunks> rf_psum_writes_{};
  std::array<sim::Counter*, shiftadd::kChunks> busy_cycles_{};
  sim::Counter& noc_multicast_bits_;
  sim::Counter& noc_psum_bits_;
  sim::Counter& gb_read_bits_;
  sim::Counter& gb_write_bits_;
  sim::Counter& dram_read_bytes_;
  sim::Counter& dram_write_bytes_;
  sim::Counter& pe_steps_;
};

}  // namespace codesim::arch
