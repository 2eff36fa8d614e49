#pragma once
// Memory side of a fold sequence: arch::FoldMemory (its rules: README.md, "DRAM and stalls")
// with the tiles of this model's mapping. Operand A is the ifmap, B the filter. Output
// stationary writes every fold's outputs; ws/is accumulate an output tile over K tiles, and
// their partial sums are T × (columns of the fold).

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "arch/common/fold_memory.h"
#include "arch/models/systolic/mapping.h"
#include "sim/mem/dram.h"
#include "sim/mem/sram.h"

namespace codesim::arch::systolic {

class FoldScheduler final : public FoldMemory {
 public:
  FoldScheduler(const OpMapping& mp, const std::vector<Fold>& folds, const FoldMemoryConfig& cfg,
                sim::DramPort& dram, sim::OperandBuffer& ifmap, sim::OperandBuffer& filter);

 private:
  const sim::TileFootprint& a_tile(size_t f) override;
  const sim::TileFootprint& b_tile(size_t f) override;
  Output output(size_t f) const override;

  const OpMapping& mp_;
  const std::vector<Fold>& folds_;
  int64_t elem_bytes_;
  std::unordered_map<int64_t, sim::TileFootprint> a_cache_, b_cache_;
};

}  // namespace codesim::arch::systolic
