#include "arch/models/nm_sparse/gemm.h"

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <string>

#include "arch/common/systolic_array.h"
#include "workloads/ir/ir.h"

namespace codesim::arch::nm_sparse {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

const ir::v1::Tensor* input(const ir::v1::Workload& w, const ir::v1::Op& op, int i) {
  return op.inputs_size() > i ? ir::find_tensor(w, op.inputs(i)) : nullptr;
}

}  // namespace

bool is_patch_conv(const ir::v1::Op& op) {
  if (op.kind_case() != ir::v1::Op::kConv2D) return false;
  const auto& c = op.conv2d();
  const auto one = [](int64_t v) { return v <= 1; };
  return c.kernel_h() >= 1 && c.kernel_w() >= 1 && c.stride_h() == c.kernel_h() &&
         c.stride_w() == c.kernel_w() && c.pad_top() == 0 && c.pad_bottom() == 0 &&
         c.pad_left() == 0 && c.pad_right() == 0 && one(c.dilation_h()) && one(c.dilation_w()) &&
         one(c.groups());
}

namespace {

int64_t reduction(const ir::v1::Op& op) {
  if (op.kind_case() == ir::v1::Op::kConv2D)
    return op.conv2d().c() * op.conv2d().kernel_h() * op.conv2d().kernel_w();
  return op.gemm().k();
}

}  // namespace

GemmMap::GemmMap(const ir::v1::Workload& w, const ir::v1::Op& op, NmPattern run, IndexFormat fmt)
    : layout_(std::max<int64_t>(reduction(op), 1), run), fmt_(fmt) {
  a_ = input(w, op, 0);
  b_ = input(w, op, 1);
  if (op.kind_case() == ir::v1::Op::kConv2D) {
    if (!is_patch_conv(op))
      throw std::invalid_argument("op '" + op.name() + "' is not a patch convolution");
    const auto& c = op.conv2d();
    conv_ = true;
    Conv2dShape& s = conv_shape_;
    s.batch = std::max<int64_t>(1, c.batch());
    s.c = c.c();
    s.h = c.h();
    s.w = c.w();
    s.filters = c.filters();
    s.kernel_h = s.stride_h = c.kernel_h();
    s.kernel_w = s.stride_w = c.kernel_w();
    m_ = s.batch * s.out_h() * s.out_w();
    n_ = s.filters;
    k_ = reduction(op);
  } else {
    const auto& g = op.gemm();
    subs_ = std::max<int64_t>(1, g.batch());
    m_ = g.m();
    n_ = g.n();
    k_ = g.k();
    // B is an activation (Q·Kᵀ, S·V) when the workload says it is not a weight: one per sub.
    b_batched_ = subs_ > 1 && b_ && !b_->is_weight();
  }
  if (m_ < 1 || n_ < 1 || k_ < 1)
    throw std::invalid_argument("op '" + op.name() + "' has an empty GEMM (M, N, K >= 1)");
}

int64_t GemmMap::b_tile_bytes(int64_t r0, int64_t r1, int64_t n0, int64_t n1,
                              int64_t elem_bytes) const {
  const int64_t cols = n1 - n0;
  const int64_t meta = layout_.metadata_bits(r0, r1, fmt_) * cols;
  return (r1 - r0) * cols * elem_bytes + (meta + 7) / 8;
}

int64_t GemmMap::b_matrix_bits(int64_t elem_bits) const {
  return layout_.rows() * n_ * elem_bits + layout_.metadata_bits(0, layout_.rows(), fmt_) * n_;
}

std::vector<Fold> make_folds(const GemmMap& mp, int rows, int mults, int cols) {
  const int64_t lanes = static_cast<int64_t>(rows) * mults;
  const ColumnLayout& l = mp.layout();
  const int64_t kt = ceil_div(l.rows(), lanes), nt = ceil_div(mp.n(), cols);
  std::vector<Fold> folds;
  folds.reserve(static_cast<size_t>(mp.subs() * kt * nt));
  for (int64_t s = 0; s < mp.subs(); ++s)
    for (int64_t j = 0; j < nt; ++j)
      for (int64_t i = 0; i < kt; ++i) {
        Fold f;
        f.sub = s;
        f.kt = i;
        f.nt = j;
        f.r0 = i * lanes;
        f.r1 = std::min(l.rows(), f.r0 + lanes);
        f.n0 = j * cols;
        f.n1 = std::min(mp.n(), f.n0 + cols);
        f.k0 = l.window_begin(f.r0);
        f.k1 = l.window_end(f.r1);
        f.pe_rows_used = static_cast<int>(ceil_div(f.r1 - f.r0, mults));
        f.cols_used = static_cast<int>(f.n1 - f.n0);
        f.first_k = i == 0;
        f.last_k = i == kt - 1;
        folds.push_back(f);
      }
  return folds;
}

// ---- memory ----

FoldScheduler::FoldScheduler(const GemmMap& mp, const std::vector<Fold>& folds,
                             const MemConfig& cfg, sim::DramPort& dram, sim::OperandBuffer& ifmap,
                             sim::OperandBuffer& weight)
    : FoldMemory(folds.size(), cfg, dram, ifmap, weight), mp_(mp), folds_(folds), cfg_(cfg) {
  for (const Fold& f : folds) {
    ktiles_ = std::max(ktiles_, f.kt + 1);
    ntiles_ = std::max(ntiles_, f.nt + 1);
  }
  const int64_t a_bytes = cfg_.a_on_chip ? 0 : mp_.subs() * mp_.m() * mp_.k() * cfg_.elem_bytes;
  int64_t b_bytes = 0;
  for (int64_t kt = 0; kt < ktiles_; ++kt)
    for (const Fold& f : folds_)
      if (f.sub == 0 && f.kt == kt)
        b_bytes += mp_.b_tile_bytes(f.r0, f.r1, f.n0, f.n1, cfg_.elem_bytes);
  b_bytes *= mp_.b_matrices();
  ifmap.begin_op(a_bytes, mp_.subs() * ktiles_);
  weight.begin_op(b_bytes, mp_.b_matrices() * ktiles_ * ntiles_);
}

const sim::TileFootprint& FoldScheduler::a_tile(size_t f) {
  const Fold& d = folds_[f];
  a_.key = d.sub * ktiles_ + d.kt;
  a_.bytes = cfg_.a_on_chip ? 0 : mp_.m() * (d.k1 - d.k0) * cfg_.elem_bytes;
  a_.segments.assign(1, {a_.key, a_.bytes});
  return a_;
}

const sim::TileFootprint& FoldScheduler::b_tile(size_t f) {
  const Fold& d = folds_[f];
  const int64_t sb = mp_.b_batched() ? d.sub : 0;
  b_.key = (sb * ktiles_ + d.kt) * ntiles_ + d.nt;
  b_.bytes = mp_.b_tile_bytes(d.r0, d.r1, d.n0, d.n1, cfg_.elem_bytes);
  b_.segments.assign(1, {b_.key, b_.bytes});
  return b_;
}

FoldMemory::Output FoldScheduler::output(size_t f) const {
  const Fold& d = folds_[f];
  Output o;
  o.first_k = d.first_k;
  o.last_k = d.last_k;
  o.words = mp_.m() * d.cols_used;
  o.on_chip = cfg_.out_on_chip;
  return o;
}

uint64_t FoldScheduler::data_ready(size_t f) const {
  uint64_t r = FoldMemory::data_ready(f);
  const auto& rows = cfg_.a_rows_ready;
  const size_t sub = static_cast<size_t>(folds_[f].sub);
  if (sub < rows.size()) r = std::max(r, rows[sub]);
  return r;
}

// ---- engine ----

namespace {

void add(EngineEvents& a, const EngineEvents& b) {
  a.macs += b.macs;
  a.selects += b.selects;
  a.ifmap_reads += b.ifmap_reads;
  a.weight_reads += b.weight_reads;
  a.weight_reg_writes += b.weight_reg_writes;
  a.out_writes += b.out_writes;
  a.out_reads += b.out_reads;
  a.psum_reg_writes += b.psum_reg_writes;
}

// What one fold does, in closed form (fast fidelity); the cycle fidelity counts the same events
// tick by tick and the tests check that both agree.
EngineEvents fold_events(const GemmMap& mp, const Fold& f, int rows) {
  EngineEvents e;
  const uint64_t t = static_cast<uint64_t>(mp.m());
  const uint64_t slots = static_cast<uint64_t>((f.r1 - f.r0) * f.cols_used);
  e.macs = slots * t;
  e.selects = mp.sparse() ? e.macs : 0;
  e.ifmap_reads = t * static_cast<uint64_t>(f.k1 - f.k0);
  e.weight_reads = static_cast<uint64_t>(mp.b_tile_bytes(f.r0, f.r1, f.n0, f.n1, 1));
  e.weight_reg_writes = slots;
  e.out_writes = t * static_cast<uint64_t>(f.cols_used);
  e.out_reads = f.first_k ? 0 : e.out_writes;
  e.psum_reg_writes = e.out_writes * static_cast<uint64_t>(rows);
  return e;
}

// SCALE-Sim's weight-stationary fold with R PE rows: F = 2R + C + T − 2.
uint64_t fold_cycles(int rows, int cols, int64_t t) {
  return static_cast<uint64_t>(
      systolic_fold_cycles(SystolicMode::kStationaryOperand, rows, cols, t));
}

// The PE array ticked every cycle (cycle fidelity). Each fold in flight has its own plane of
// partial-sum registers (the ping-pong registers that let folds overlap); activation windows
// travel along the rows as (stream row, window) handles into the staged A operand, partial sums
// move down the columns as values, and the bottom row writes them to the ofmap SRAM.
template <class V, class A>
class PeArray {
 public:
  PeArray(const GemmMap& mp, const EngineConfig& cfg, const CompressedB<V>* b, const V* a, A* out)
      : mp_(mp),
        cfg_(cfg),
        b_(b),
        a_(a),
        out_(out),
        fold_cycles_(fold_cycles(cfg.rows, cfg.cols, mp.m())) {}

  void issue(const Fold& f, uint64_t start) {
    InFlight x;
    x.f = f;
    x.start = start;
    x.psum.assign(static_cast<size_t>(cfg_.rows) * cfg_.cols, A(0));
    // Window reads: a group's window is read once per stream row, by the PE row holding its
    // first slot within this fold.
    x.row_reads.assign(static_cast<size_t>(cfg_.rows), 0);
    const ColumnLayout& l = mp_.layout();
    int64_t last_group = -1;
    for (int64_t r = f.r0; r < f.r1; ++r) {
      const int64_t g = l.group_of(r);
      if (g == last_group) continue;
      last_group = g;
      const int64_t lo = std::max(l.group_begin(g), f.k0);
      const int64_t hi = std::min(l.group_begin(g) + l.group_size(g), f.k1);
      x.row_reads[static_cast<size_t>((r - f.r0) / cfg_.mults)] += static_cast<uint64_t>(hi - lo);
    }
    ev_.weight_reads += static_cast<uint64_t>(mp_.b_tile_bytes(f.r0, f.r1, f.n0, f.n1, 1));
    ev_.weight_reg_writes += static_cast<uint64_t>((f.r1 - f.r0) * f.cols_used);
    flight_.push_back(std::move(x));
  }

  bool empty() const { return flight_.empty(); }
  // Jumps an empty array forward to cycle `t`.
  void skip_to(uint64_t t) { now_ = t; }

  // One cycle; returns how many folds made their last output in it.
  int tick() {
    const uint64_t t = now_++;
    const int R = cfg_.rows, P = cfg_.mults;
    const int64_t T = mp_.m(), N = mp_.n(), K = mp_.k();
    const bool sparse = mp_.sparse();
    int done = 0;
    for (InFlight& x : flight_) {
      const Fold& f = x.f;
      if (t < x.start + static_cast<uint64_t>(R)) continue;        // loading the stationary tile
      const int64_t base = static_cast<int64_t>(t - x.start) - R;  // e + i + c
      const int64_t sb = mp_.b_batched() ? f.sub : 0;
      // Bottom-up so that a PE reads the partial sum its upper neighbour latched last cycle.
      for (int i = R - 1; i >= 0; --i) {
        const int64_t c_lo = std::max<int64_t>(0, base - i - (T - 1));
        const int64_t c_hi = std::min<int64_t>(f.cols_used - 1, base - i);
        if (c_lo > c_hi) continue;
        const int64_t r_lo = f.r0 + static_cast<int64_t>(i) * P;
        const int64_t r_hi = std::min<int64_t>(f.r1, r_lo + P);
        const int64_t slots = std::max<int64_t>(0, r_hi - r_lo);
        for (int64_t c = c_lo; c <= c_hi; ++c) {
          const int64_t e = base - i - c;
          if (c == 0) ev_.ifmap_reads += x.row_reads[static_cast<size_t>(i)];
          ev_.macs += static_cast<uint64_t>(slots);
          if (sparse) ev_.selects += static_cast<uint64_t>(slots);
          ++ev_.psum_reg_writes;
          A& reg = x.psum[static_cast<size_t>(i) * cfg_.cols + c];
          if (cfg_.functional) {
            A sum = i == 0 ? A(0) : x.psum[static_cast<size_t>(i - 1) * cfg_.cols + c];
            A tree = A(0);
            const V* arow = a_ + (f.sub * T + e) * K;
            for (int64_t r = r_lo; r < r_hi; ++r) {
              const int32_t p = b_->pos[sb][static_cast<size_t>(r * N + f.n0 + c)];
              if (p >= 0)
                tree += systolic_product<A>(b_->val[sb][static_cast<size_t>(r * N + f.n0 + c)],
                                            arow[p]);
            }
            reg = sum + tree;
          }
          if (i == R - 1) {
            ++x.outputs;
            ++ev_.out_writes;
            if (!f.first_k) ++ev_.out_reads;
            if (cfg_.functional) {
              A& o = out_[(f.sub * T + e) * N + f.n0 + c];
              o = f.first_k ? reg : o + reg;
            }
          }
        }
      }
      if (t == x.start + fold_cycles_ - 1) {
        if (x.outputs != static_cast<uint64_t>(T * f.cols_used))
          throw std::logic_error("nm_sparse: a fold ended without all of its outputs");
        x.retired = true;
        ++done;
      }
    }
    while (!flight_.empty() && flight_.front().retired) flight_.pop_front();
    return done;
  }

  const EngineEvents& events() const { return ev_; }

 private:
  struct InFlight {
    Fold f;
    uint64_t start = 0;
    std::vector<A> psum;
    std::vector<uint64_t> row_reads;
    uint64_t outputs = 0;
    bool retired = false;
  };
  const GemmMap& mp_;
  EngineConfig cfg_;
  const CompressedB<V>* b_;
  const V* a_;
  A* out_;
  uint64_t fold_cycles_;
  uint64_t now_ = 0;
  std::deque<InFlight> flight_;
  EngineEvents ev_;
};

// Functional fast fidelity: the same sums in the array's order (down the column, P products
// through the adder tree per PE), so both fidelities give identical values.
template <class V, class A>
void compute_fold(const GemmMap& mp, const Fold& f, const EngineConfig& cfg,
                  const CompressedB<V>& b, const V* a, A* out) {
  const int64_t T = mp.m(), N = mp.n(), K = mp.k();
  const int64_t sb = mp.b_batched() ? f.sub : 0;
  const int P = cfg.mults;
  for (int64_t e = 0; e < T; ++e) {
    const V* arow = a + (f.sub * T + e) * K;
    for (int64_t c = 0; c < f.cols_used; ++c) {
      A sum = A(0);
      for (int64_t r_lo = f.r0; r_lo < f.r1; r_lo += P) {
        A tree = A(0);
        for (int64_t r = r_lo; r < std::min<int64_t>(f.r1, r_lo + P); ++r) {
          const int32_t p = b.pos[sb][static_cast<size_t>(r * N + f.n0 + c)];
          if (p >= 0)
            tree += systolic_product<A>(b.val[sb][static_cast<size_t>(r * N + f.n0 + c)], arow[p]);
        }
        sum = sum + tree;
      }
      A& o = out[(f.sub * T + e) * N + f.n0 + c];
      o = f.first_k ? sum : o + sum;
    }
  }
}

void note_sub(EngineResult& res, const Fold& f, uint64_t begin, int rows, int cols) {
  // The last fold of a sub-GEMM completes its output rows one per cycle from here on.
  if (f.last_k) {
    const uint64_t first = begin + static_cast<uint64_t>(2 * rows + cols - 2);
    auto& v = res.sub_rows_out;
    if (v.size() <= static_cast<size_t>(f.sub)) v.resize(static_cast<size_t>(f.sub) + 1, 0);
    v[static_cast<size_t>(f.sub)] = std::max(v[static_cast<size_t>(f.sub)], first);
  }
}

FoldLoopConfig loop_config(const GemmMap& mp, const EngineConfig& cfg) {
  FoldLoopConfig c;
  c.fold_cycles = fold_cycles(cfg.rows, cfg.cols, mp.m());
  c.interval = fold_overlap_interval(cfg.rows, mp.m());
  c.overlap = cfg.overlap;
  return c;
}

template <class V, class A>
EngineResult run_fast(const GemmMap& mp, const std::vector<Fold>& folds, FoldScheduler& mem,
                      const EngineConfig& cfg, const CompressedB<V>* b, const V* a, A* out,
                      uint64_t start, const std::function<void(uint64_t)>& sync) {
  EngineResult res;
  static_cast<FoldTiming&>(res) = run_folds_fast(
      folds.size(), mem, loop_config(mp, cfg), start, sync, [&](size_t f, uint64_t t) {
        add(res.events, fold_events(mp, folds[f], cfg.rows));
        if (cfg.functional) compute_fold<V, A>(mp, folds[f], cfg, *b, a, out);
        note_sub(res, folds[f], t, cfg.rows, cfg.cols);
      });
  return res;
}

template <class V, class A>
EngineResult run_cycle(const GemmMap& mp, const std::vector<Fold>& folds, FoldScheduler& mem,
                       const EngineConfig& cfg, const CompressedB<V>* b, const V* a, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync) {
  PeArray<V, A> array(mp, cfg, b, a, out);
  EngineResult res;
  static_cast<FoldTiming&>(res) = run_folds_cycle(folds.size(), mem, array, loop_config(mp, cfg),
                                                  start, sync, [&](size_t f, uint64_t t) {
                                                    array.issue(folds[f], t);
                                                    note_sub(res, folds[f], t, cfg.rows, cfg.cols);
                                                  });
  res.events = array.events();
  return res;
}

}  // namespace

template <class V, class A>
EngineResult run_folds(const GemmMap& mp, const std::vector<Fold>& folds, FoldScheduler& mem,
                       const EngineConfig& cfg, const CompressedB<V>* b, const V* a, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync) {
  if (cfg.cycle) return run_cycle<V, A>(mp, folds, mem, cfg, b, a, out, start, sync);
  return run_fast<V, A>(mp, folds, mem, cfg, b, a, out, start, sync);
}

template EngineResult run_folds<int16_t, uint32_t>(const GemmMap&, const std::vector<Fold>&,
                                                   FoldScheduler&, const EngineConfig&,
                                                   const CompressedB<int16_t>*, const int16_t*,
                                                   uint32_t*, uint64_t,
                                                   const std::function<void(uint64_t)>&);
template EngineResult run_folds<float, float>(const GemmMap&, const std::vector<Fold>&,
                                              FoldScheduler&, const EngineConfig&,
                                              const CompressedB<float>*, const float*, float*,
                                              uint64_t, const std::function<void(uint64_t)>&);

}  // namespace codesim::arch::nm_sparse
