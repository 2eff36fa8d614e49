#include "arch/models/butterfly/schedule.h"

#include <algorithm>
#include <utility>

namespace codesim::arch::butterfly {

namespace {
uint64_t ceil_div(int64_t a, int64_t b) { return static_cast<uint64_t>((a + b - 1) / b); }
}  // namespace

uint64_t load_cycles(const PortConfig& c, const PassSpec& p, int64_t vectors) {
  const int64_t bits = vectors * p.in_elems * p.in_elem_bits;
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

int64_t coef_bits_per_stack(const PassSpec& p) {
  return static_cast<int64_t>(p.stages) * (p.length / 2) * 4 * 16;
}

uint64_t layernorm_latency(const PortConfig& c, const PassSpec& p) {
  if (p.layernorm_width <= 0) return 0;
  return 2 * ceil_div(p.layernorm_width, 2 * static_cast<int64_t>(c.units));
}

RunTimes RunPipeline::next_run(const PassSpec& p, int64_t count, int64_t stack, uint64_t ready,
                               uint64_t compute_cycles) {
  const RunTimes& prev = hist_[1];   // run k-1
  const RunTimes& prev2 = hist_[0];  // run k-2, the last user of this run's buffer
  RunTimes r;
  r.vectors = count;
  r.stack = stack;
  r.fft = p.fft;

  // Load: P2S of the buffer's previous run reads ahead of the S2P; FFT computes hold every port.
  // Each engine has one S2P, so a load starts after the previous run's load.
  r.in_bits = count * p.in_elems * p.in_elem_bits;
  uint64_t start = std::max({ready, prev2.store_start, prev.load_end});
  uint64_t not_before = prev2.store_end;
  if (p.fft || prev.fft) start = std::max(start, prev.comp_end);
  if (prev.fft && !p.fft) {
    // A real vector spans the whole of buffer A or B, so it also overwrites the FFT half that the
    // previous run's store is still reading.
    start = std::max(start, prev.store_start);
    not_before = std::max(not_before, prev.store_end);
  }
  if (!p.pingpong) start = std::max(start, prev.store_end);
  r.load_start = in_port_.reserve(start, ceil_div(r.in_bits, c_.in_bits));
  r.load_end = std::max(r.load_start + load_cycles(c_, p, count), not_before);

  // Shortcut rows, in the input port's first gap after the load, into the engine's shortcut
  // FIFO: behind the last-but-one user's store when two rows fit, else behind the last user's
  // store as it drains the FIFO.
  const int64_t sc_bits = count * p.shortcut_bits_per_vector;
  if (sc_bits > 0) {
    const bool two_rows = 2 * p.shortcut_bits_per_vector <= 16 * c_.shortcut_depth;
    const uint64_t sc_cycles = ceil_div(sc_bits, c_.in_bits);
    const uint64_t room = two_rows ? sc_hist_[0].second : sc_hist_[1].first;
    r.shortcut_start = in_port_.reserve(std::max(r.load_start, room), sc_cycles);
    r.shortcut_end = r.shortcut_start + sc_cycles;
    if (!two_rows) r.shortcut_end = std::max(r.shortcut_end, sc_hist_[1].second);
    r.in_bits += sc_bits;
  }

  // Coefficients: kept if this set is the one in the buffer, else streamed.
  const int64_t entry_bits = 4 * static_cast<int64_t>(c_.units) * 16;
  const int64_t half = c_.weight_buffer_depth;
  const int64_t bits = coef_bits_per_stack(p);
  const int64_t entries = bits / entry_bits;
  const std::string key = p.fft ? "fft#" + std::to_string(p.length) + "#" + std::to_string(p.stages)
                                : p.name + "#" + std::to_string(stack);
  bool streamed = false;
  if (entries <= half && key == coef_keys_[0]) std::swap(coef_keys_[0], coef_keys_[1]);
  if (entries > half || key != coef_keys_[1]) {
    streamed = true;
    r.coef_bits = bits;
    // Room: the last streamed set has at most two halves left to consume.
    const uint64_t room = stream_comp_start_ +
                          static_cast<uint64_t>(std::max<int64_t>(0, stream_entries_ - 2 * half));
    r.coef_start = std::max(coef_free_, room);
    r.coef_end = r.coef_start + ceil_div(bits, c_.coef_bits);
    if (entries <= half) {
      coef_keys_[0] = coef_keys_[1];
      coef_keys_[1] = key;
    } else {
      coef_keys_[0] = coef_keys_[1] = std::string();
    }
  }

  // Compute: engines free, data in, (and for FFT the previous store out of the banks).
  uint64_t comp = std::max(r.load_end, prev.comp_end);
  if (p.fft || prev.fft) comp = std::max(comp, prev.store_end);
  if (streamed) comp = std::max(comp, r.coef_start + ceil_div(entry_bits, c_.coef_bits));
  r.comp_start = comp;
  r.comp_end = comp + compute_cycles;
  if (streamed) {
    // The last entry is consumed by the last issue, `latency` cycles before the results are in.
    r.comp_end = std::max(r.comp_end, r.coef_end + static_cast<uint64_t>(p.latency));
    // The port cannot run more than the buffer ahead of the units.
    r.coef_end = std::max(
        r.coef_end, r.comp_start + static_cast<uint64_t>(std::max<int64_t>(0, entries - 2 * half)));
    coef_free_ = r.coef_end;
    stream_comp_start_ = r.comp_start;
    stream_entries_ = entries;
  }

  // Store: after compute, on the output port, adding the shortcut as it arrives.
  r.out_bits = count * run_out_elems(p, stack) * p.out_elem_bits;
  r.store_start = std::max(r.comp_end, out_free_);
  r.store_end = r.store_start + layernorm_latency(c_, p) + store_cycles(c_, p, count, stack);
  if (sc_bits > 0) {
    r.store_end = std::max(r.store_end, r.shortcut_end);
    sc_hist_[0] = sc_hist_[1];
    sc_hist_[1] = {r.store_start, r.store_end};
  }
  out_free_ = r.store_end;

  hist_[0] = hist_[1];
  hist_[1] = r;
  return r;
}

uint64_t PortTimeline::reserve(uint64_t earliest, uint64_t cycles) {
  uint64_t t = std::max(earliest, floor_);
  auto it = busy_.begin();
  while (it != busy_.end() && it->second <= t) ++it;
  for (; it != busy_.end(); ++it) {
    if (t + cycles <= it->first) break;
    t = std::max(t, it->second);
  }
  if (cycles > 0) busy_.insert(it, {t, t + cycles});
  // Old intervals no later request can reach are folded into the floor.
  constexpr size_t kKeep = 64;
  if (busy_.size() > kKeep) {
    floor_ = std::max(floor_, busy_[busy_.size() - kKeep - 1].second);
    busy_.erase(busy_.begin(), busy_.end() - kKeep);
  }
  return t;
}

void PortTimeline::sync_to(uint64_t t) {
  floor_ = std::max(floor_, t);
  while (!busy_.empty() && busy_.front().second <= floor_) busy_.erase(busy_.begin());
}

void RunPipeline::sync_to(uint64_t t) {
  in_port_.sync_to(t);
  coef_free_ = std::max(coef_free_, t);
  out_free_ = std::max(out_free_, t);
  last_store_ = std::max(last_store_, t);
  for (RunTimes& h : hist_) {
    h.comp_end = std::max(h.comp_end, t);
    h.store_start = std::max(h.store_start, t);
    h.store_end = std::max(h.store_end, t);
  }
  for (auto& h : sc_hist_) h = {std::max(h.first, t), std::max(h.second, t)};
  stream_comp_start_ = std::max(stream_comp_start_, t);
  rows_done_.clear();
}

}  // namespace codesim::arch::butterfly
