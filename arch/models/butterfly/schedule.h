#pragma once
// The butterfly processor's run pipeline. A pass (one butterfly op, or one axis of an FFT) is cut
// into runs: each run gives one vector (a token row, an FFT column, or one stack of a row) to
// each of up to P engines. A run goes through three stages on three resources:
//
//   load     input port + S2P: max(ceil(bits / B_in), n)   (S2P writes one element per cycle
//            into the engine's banks, zero padding included; all engines load in parallel)
//   compute  the engines: stages x (ceil(n / 2U) issue cycles + pipeline depth)  (a stage reads
//            the previous stage's results, so the unit pipeline drains between stages);
//            coefficients must be in the (double-buffered, shared) coefficient buffer
//   store    P2S + output port: max(ceil(bits / B_out), kept outputs)
//
// Run k may load when the input port is free and its bank is free (the bank of run k-2 frees as
// that run's store starts: P2S reads each address before S2P overwrites it, both one element per
// cycle), and when its input exists (rows stored by the producer op, or every output of the
// producer for a column pass). Coefficients are loaded on their own port when the set of stacks
// changes, into the half of the coefficient buffer that run k-1 does not use. Compute starts when
// data and coefficients are in and the engines are free; store when compute ends and the output
// port is free. The state persists across ops, so the first load of an op overlaps the previous
// op's last compute and store (double buffering across layers).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace codesim::arch::butterfly {

struct PortConfig {
  int64_t in_bits = 2048;    // input port, bits per cycle
  int64_t coef_bits = 256;   // coefficient port
  int64_t out_bits = 2048;   // output port
  int units = 4;             // U
  int64_t pipeline_depth = 6;
};

// One pass over a set of vectors.
struct PassSpec {
  std::string name;
  bool fft = false;
  int64_t length = 2;       // n, a power of two
  int stages = 1;           // log2 n for full butterflies
  int64_t vectors = 0;      // per stack
  int64_t stacks = 1;       // runs cycle through stacks for every row group (butterfly only)
  int in_elem_bits = 16;    // 16 real, 32 complex
  int out_elem_bits = 16;
  int64_t in_elems = 0;     // elements read from DRAM per vector (the rest is zero padding)
  int64_t out_elems = 0;    // elements written per vector and run
  int64_t out_total = 0;    // > 0: outputs per vector over all stacks (the last may be partial)
  int64_t coef_elems = 0;   // per stack
  int coef_elem_bits = 16;
  int64_t extra_in_bits_per_vector = 0;  // fused post-processing operands (shortcut)
  bool row_wise = true;     // vector v of the pass is row v of the producer (else: barrier)
};

struct RunTimes {
  int64_t vectors = 0;
  int64_t stack = 0;
  uint64_t load_start = 0, load_end = 0, coef_end = 0, comp_start = 0, comp_end = 0;
  uint64_t store_start = 0, store_end = 0;
  int64_t in_bits = 0, out_bits = 0, coef_bits = 0;  // DRAM bits moved by this run
};

// Closed-form stage times of a run of `vectors` vectors.
uint64_t load_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors);
uint64_t store_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors, int64_t stack = 0);
// Outputs per vector written by the run of `stack`.
int64_t run_out_elems(const PassSpec& p, int64_t stack);
uint64_t coef_cycles(const PortConfig& c, const PassSpec& p, int64_t coef_bits);
uint64_t compute_cycles(const PortConfig& c, const PassSpec& p);

class RunPipeline {
 public:
  explicit RunPipeline(PortConfig c, int64_t engines) : c_(c), engines_(engines) {}

  // Plans every run of a pass. Runs may start before the op is issued (while the previous op's
  // last runs compute) when their resources and inputs allow. `compute` gives a run's compute
  // cycles (the closed form in fast fidelity, the traced banks in cycle fidelity).
  template <class ComputeFn>
  std::vector<RunTimes> plan(const PassSpec& p, ComputeFn&& compute);

  uint64_t compute_free() const { return comp_free_; }
  uint64_t last_store_end() const { return last_store_; }
  const PortConfig& config() const { return c_; }
  int64_t engines() const { return engines_; }
  // Forgets that the last pass's rows can be streamed (an op of another unit ran in between).
  void break_stream() { rows_done_.clear(); }
  // Everything in flight is finished by `t` (used after ops on other units).
  void sync_to(uint64_t t);

 private:
  PortConfig c_;
  int64_t engines_;
  uint64_t in_free_ = 0, coef_free_ = 0, comp_free_ = 0, out_free_ = 0, last_store_ = 0;
  uint64_t comp_end_prev_ = 0;
  uint64_t store_start_hist_[2] = {0, 0};
  std::string coef_key_;
  // The previous pass's rows: (rows fully stored, cycle), in row order; empty = not streamable.
  std::vector<std::pair<int64_t, uint64_t>> rows_done_;
};

template <class ComputeFn>
std::vector<RunTimes> RunPipeline::plan(const PassSpec& p, ComputeFn&& compute) {
  std::vector<RunTimes> runs;
  const uint64_t producer_done = last_store_;
  const std::vector<std::pair<int64_t, uint64_t>> producer = rows_done_;
  std::vector<std::pair<int64_t, uint64_t>> done;
  for (int64_t first = 0; first < p.vectors; first += engines_) {
    const int64_t count = std::min(engines_, p.vectors - first);
    for (int64_t s = 0; s < p.stacks; ++s) {
      RunTimes r;
      r.vectors = count;
      r.stack = s;
      uint64_t ready = producer_done;
      if (p.row_wise && !producer.empty() && producer.back().first >= first + count) {
        for (const auto& pr : producer)
          if (pr.first >= first + count) {
            ready = pr.second;
            break;
          }
      }
      r.in_bits = count * (p.in_elems * p.in_elem_bits + p.extra_in_bits_per_vector);
      r.load_start = std::max({in_free_, store_start_hist_[0], ready});
      r.load_end = r.load_start + load_cycles(c_, p, count);
      in_free_ = r.load_end;
      // Twiddles depend only on the length; butterfly coefficients on the op and stack.
      const std::string key = p.fft ? "fft#" + std::to_string(p.length)
                                    : p.name + "#" + std::to_string(s);
      r.coef_end = 0;
      if (key != coef_key_ && p.coef_elems > 0) {
        r.coef_bits = p.coef_elems * p.coef_elem_bits;
        const uint64_t start = std::max(coef_free_, comp_end_prev_);
        r.coef_end = start + coef_cycles(c_, p, r.coef_bits);
        coef_free_ = r.coef_end;
        coef_key_ = key;
      }
      r.comp_start = std::max({r.load_end, r.coef_end, comp_free_});
      r.comp_end = r.comp_start + compute(r);
      comp_end_prev_ = comp_free_;
      comp_free_ = r.comp_end;
      r.out_bits = count * run_out_elems(p, s) * p.out_elem_bits;
      r.store_start = std::max(r.comp_end, out_free_);
      r.store_end = r.store_start + store_cycles(c_, p, count, s);
      out_free_ = r.store_end;
      last_store_ = std::max(last_store_, r.store_end);
      store_start_hist_[0] = store_start_hist_[1];
      store_start_hist_[1] = r.store_start;
      runs.push_back(r);
    }
    done.emplace_back(first + count, out_free_);
  }
  rows_done_ = p.row_wise ? done : std::vector<std::pair<int64_t, uint64_t>>{};
  return runs;
}

}  // namespace codesim::arch::butterfly
