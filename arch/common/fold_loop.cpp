#include "arch/common/fold_loop.h"

#include <string>

namespace codesim::arch {

void PhaseLog::compute(uint64_t begin, uint64_t end) {
  if (!phases_.empty() && phases_.back().name == "compute" && begin <= cursor_) {
    phases_.back().end_cycle = std::max(phases_.back().end_cycle, end);
  } else {
    if (begin > cursor_) phases_.push_back({phases_.empty() ? "load" : "stall", cursor_, begin});
    phases_.push_back({"compute", begin, end});
  }
  cursor_ = std::max(cursor_, end);
}

std::vector<sim::Phase> PhaseLog::finish(uint64_t end) {
  std::vector<sim::Phase> clipped;
  for (sim::Phase p : phases_) {
    p.end_cycle = std::min(p.end_cycle, end);
    if (p.end_cycle > p.begin_cycle) clipped.push_back(p);
  }
  if (end > cursor_) clipped.push_back({"drain", cursor_, end});
  if (clipped.size() <= kMaxPhases) return clipped;
  const uint64_t window = (end - begin_) / kMaxPhases + 1;
  std::vector<sim::Phase> out;
  for (const sim::Phase& p : clipped) {
    if (!out.empty() && out.back().end_cycle - out.back().begin_cycle < window) {
      sim::Phase& last = out.back();
      if (("+" + last.name + "+").find("+" + p.name + "+") == std::string::npos)
        last.name += "+" + p.name;
      last.end_cycle = p.end_cycle;
    } else {
      out.push_back(p);
    }
  }
  return out;
}

}  // namespace codesim::arch
