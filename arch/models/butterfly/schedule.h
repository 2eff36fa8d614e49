#pragma once
// The butterfly processor's run pipeline. A pass (one butterfly op, or one axis of an FFT) is cut
// into runs: each run gives one vector (a token row, an FFT column, or one stack of a row) to
// each of up to P engines. A run's stages and the resources they hold:
//
//   load      S2P writes one element per cycle into the engine's banks, zero padding included,
//             fed by the input port: max(ceil(bits / B_in), n). The port itself is busy only for
//             ceil(bits / B_in). An engine has one S2P: a load starts after the previous one.
//   shortcut  a fused residual add's operand rows go over the input port, in its first gap
//             after the run's load, into each engine's shortcut FIFO (shortcut_depth words, RTL
//             sif_fifo: 1024). When two rows fit, a run's rows enter behind the store of the
//             last-but-one run that used the FIFO; else they stream in behind the last one's
//             store (they start when it starts and cannot finish before it). The store cannot
//             finish before they are in. Rows already in the FIFO (cached while an earlier load
//             streamed them in) take no port time.
//   compute   the engines (traced or closed form, see engine.h); the coefficients stream through
//             the shared ping-pong weight buffer while the units consume one entry (4 U 16-bit
//             coefficients) per issue cycle, so compute cannot end before the last entry arrives.
//   store     P2S reads one element per cycle per engine into the output port:
//             max(ceil(bits / B_out), kept outputs), after a fused LayerNorm's two statistics
//             passes over the row (2 ceil(width / 2U) cycles, the RTL's streaming LayerNorm).
//
// Bank sharing (paper Fig. 13). Butterfly-linear mode: buffers A and B alternate between runs,
// run k computes in one while run k+1 loads into the other, where P2S reads run k-1's results
// ahead of the S2P (load k+1 starts when store k-1 starts and cannot finish before it). FFT mode:
// a complex vector takes the same half of A (real) and B (imaginary); the stages use every read
// and write port of both, so no load or store overlaps an FFT compute: the store of run k
// overlaps only the load of run k+1 (per run max(load, store) + compute).
//
// Coefficient sets that fit one half of the weight buffer stay there (one per half, the older one
// is replaced) while runs use them (FFT twiddles of short lengths, the stacks of a small
// butterfly); larger sets stream again every run. The weight buffer is modelled as a FIFO of its
// two halves: the port may run ahead of consumption by at most that much.
//
// Run k may load when its input exists: rows stored by the producer op (streamed row by row), or
// every output of the producer for a column pass. The state persists across ops, so the first
// load of an op overlaps the previous op's last compute and store (double buffering across ops).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace codesim::arch::butterfly {

struct PortConfig {
  int64_t in_bits = 2048;              // input port, bits per cycle
  int64_t coef_bits = 256;             // coefficient port
  int64_t out_bits = 2048;             // output port
  int units = 4;                       // U
  int64_t weight_buffer_depth = 1024;  // entries of 4 U x 16 bits per half
  int64_t shortcut_depth = 1024;       // 16-bit words of each engine's shortcut FIFO
};

// One pass over a set of vectors.
struct PassSpec {
  std::string name;
  bool fft = false;
  int64_t length = 2;     // n, a power of two
  int stages = 1;         // log2 n for full butterflies
  int latency = 7;        // unit latency in this mode
  int64_t vectors = 0;    // per stack
  int64_t stacks = 1;     // runs cycle through stacks for every row group (butterfly only)
  int in_elem_bits = 16;  // 16 real, 32 complex
  int out_elem_bits = 16;
  int64_t in_elems = 0;   // elements read from DRAM per vector (the rest is zero padding)
  int64_t out_elems = 0;  // elements written per vector and run
  int64_t out_total = 0;  // > 0: outputs per vector over all stacks (the last may be partial)
  int64_t shortcut_bits_per_vector = 0;  // fused residual operand read over the input port
  int64_t layernorm_width = 0;           // > 0: a LayerNorm over this many outputs is fused
  bool pingpong = true;       // two vectors fit the engine's banks (else runs do not overlap)
  bool row_wise = true;       // vector v of the pass is row v of the producer (else: barrier)
  bool produces_rows = true;  // vector v is row v of the output (a later pass may stream it)
};

struct RunTimes {
  int64_t vectors = 0;
  int64_t stack = 0;
  bool fft = false;
  uint64_t load_start = 0, load_end = 0, coef_start = 0, coef_end = 0;
  uint64_t comp_start = 0, comp_end = 0, store_start = 0, store_end = 0;
  uint64_t shortcut_start = 0, shortcut_end = 0;
  int64_t in_bits = 0, out_bits = 0, coef_bits = 0;  // DRAM bits moved by this run
};

// Closed-form stage times of a run of `vectors` vectors.
uint64_t load_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors);
uint64_t store_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors, int64_t stack = 0);
// Outputs per vector written by the run of `stack`.
int64_t run_out_elems(const PassSpec& p, int64_t stack);
// Coefficient bits of one stack: every pair of every stage takes one 4 x 16-bit entry slot of the
// unit's coefficient bus, in both modes (an FFT twiddle rides the same bus).
int64_t coef_bits_per_stack(const PassSpec& p);
// Cycles the post-processor's LayerNorm needs before its first output (mean, then variance).
uint64_t layernorm_latency(const PortConfig& c, const PassSpec& p);

// A port whose busy intervals are remembered, so that a transfer planned later can take a gap
// left before one planned earlier.
class PortTimeline {
 public:
  // Books `cycles` at the first gap at or after `earliest`; returns the start.
  uint64_t reserve(uint64_t earliest, uint64_t cycles);
  // Nothing may be booked before `t`.
  void sync_to(uint64_t t);

 private:
  std::vector<std::pair<uint64_t, uint64_t>> busy_;  // sorted, disjoint [begin, end)
  uint64_t floor_ = 0;
};

class RunPipeline {
 public:
  explicit RunPipeline(PortConfig c, int64_t engines) : c_(c), engines_(engines) {}

  // Plans every run of a pass. Runs may start before the op is issued (while the previous op's
  // last runs compute) when their resources and inputs allow. `compute` gives a run's compute
  // cycles, unit latency included (closed form in fast fidelity, traced in cycle fidelity).
  template <class ComputeFn>
  std::vector<RunTimes> plan(const PassSpec& p, ComputeFn&& compute);

  uint64_t compute_free() const { return hist_[1].comp_end; }
  // The last pass's rows: (rows fully stored, cycle) per row group; empty if it is not row-wise.
  const std::vector<std::pair<int64_t, uint64_t>>& rows_done() const { return rows_done_; }
  uint64_t last_store_end() const { return last_store_; }
  const PortConfig& config() const { return c_; }
  int64_t engines() const { return engines_; }
  // Everything in flight is finished by `t` (used after ops on other units).
  void sync_to(uint64_t t);

 private:
  RunTimes next_run(const PassSpec& p, int64_t count, int64_t stack, uint64_t ready,
                    uint64_t compute_cycles);

  PortConfig c_;
  int64_t engines_;
  PortTimeline in_port_;
  uint64_t coef_free_ = 0, out_free_ = 0, last_store_ = 0;
  RunTimes hist_[2];  // runs k-2 and k-1
  // (store start, store end) of the last two runs that read shortcut rows, oldest first.
  std::pair<uint64_t, uint64_t> sc_hist_[2];
  // The sets kept in the weight buffer's halves (most recent last; empty: none), and the last
  // streamed run's consumption.
  std::string coef_keys_[2];
  uint64_t stream_comp_start_ = 0;
  int64_t stream_entries_ = 0;
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
    uint64_t ready = producer_done;
    if (p.row_wise && !producer.empty() && producer.back().first >= first + count) {
      for (const auto& pr : producer)
        if (pr.first >= first + count) {
          ready = pr.second;
          break;
        }
    }
    for (int64_t s = 0; s < p.stacks; ++s) {
      runs.push_back(next_run(p, count, s, ready, compute(count, s)));
      last_store_ = std::max(last_store_, runs.back().store_end);
    }
    done.emplace_back(first + count, out_free_);
  }
  rows_done_ = p.produces_rows ? done : std::vector<std::pair<int64_t, uint64_t>>{};
  return runs;
}

}  // namespace codesim::arch::butterfly
