#include "arch/models/butterfly/schedule.h"

#include <algorithm>

#include "arch/models/butterfly/engine.h"

namespace codesim::arch::butterfly {

namespace {
uint64_t ceil_div(int64_t a, int64_t b) { return static_cast<uint64_t>((a + b - 1) / b); }
}  // namespace

uint64_t load_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors) {
  const int64_t bits = vectors * (p.in_elems * p.in_elem_bits + p.extra_in_bits_per_vector);
  return std::max<uint64_t>(ceil_div(bits, c.in_bits), static_cast<uint64_t>(p.length));
}

int64_t run_out_elems(const PassSpec& p, int64_t stack) {
  if (p.out_total <= 0) return p.out_elems;
  return std::max<int64_t>(0, std::min(p.length, p.out_total - stack * p.length));
}

uint64_t store_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors, int64_t stack) {
  const int64_t out = run_out_elems(p, stack);
  const int64_t bits = vectors * out * p.out_elem_bits;
  return std::max<uint64_t>(ceil_div(bits, c.out_bits), static_cast<uint64_t>(out));
}

uint64_t coef_cycles(const PortConfig& c, const PassSpec& p, int64_t coef_bits) {
  // Port time vs. the coefficient buffer's write port (4U banks x 32 bits).
  return std::max(ceil_div(coef_bits, c.coef_bits), ceil_div(coef_bits, 4 * c.units * 32));
}

uint64_t compute_cycles(const PortConfig& c, const PassSpec& p) {
  return static_cast<uint64_t>(p.stages) *
         static_cast<uint64_t>(stage_issue_cycles(p.length, c.units) + c.pipeline_depth);
}

void RunPipeline::sync_to(uint64_t t) {
  in_free_ = std::max(in_free_, t);
  coef_free_ = std::max(coef_free_, t);
  comp_free_ = std::max(comp_free_, t);
  out_free_ = std::max(out_free_, t);
  last_store_ = std::max(last_store_, t);
  comp_end_prev_ = std::max(comp_end_prev_, t);
  store_start_hist_[0] = std::max(store_start_hist_[0], t);
  store_start_hist_[1] = std::max(store_start_hist_[1], t);
  rows_done_.clear();
}

}  // namespace codesim::arch::butterfly
