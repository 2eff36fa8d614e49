#include "arch/models/systolic/mapping.h"

#include <algorithm>
#include <stdexcept>

#include "workloads/ir/ir.h"

namespace codesim::arch::systolic {

namespace {

int64_t at_least_one(int64_t v) { return v < 1 ? 1 : v; }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

const ir::v1::Tensor* input(const ir::v1::Workload& w, const ir::v1::Op& op, int i) {
  return op.inputs_size() > i ? ir::find_tensor(w, op.inputs(i)) : nullptr;
}

}  // namespace

bool OpMapping::supports(const ir::v1::Op& op) {
  return op.kind_case() == ir::v1::Op::kGemm || op.kind_case() == ir::v1::Op::kConv2D;
}

OpMapping::OpMapping(const ir::v1::Workload& w, const ir::v1::Op& op, Dataflow df, int rows,
                     int cols)
    : df_(df) {
  a_tensor_ = input(w, op, 0);
  b_tensor_ = input(w, op, 1);
  if (op.kind_case() == ir::v1::Op::kGemm) {
    const auto& g = op.gemm();
    subs_ = at_least_one(g.batch());
    m_ = g.m();
    n_ = g.n();
    k_ = g.k();
    // B is one weight matrix shared by the batch unless the workload gives it a batch axis.
    b_batched_ = subs_ > 1 && b_tensor_ && b_tensor_->shape_size() == 3;
    a_elements_ = subs_ * m_ * k_;
    b_elements_ = (b_batched_ ? subs_ : 1) * k_ * n_;
  } else if (op.kind_case() == ir::v1::Op::kConv2D) {
    const auto& c = op.conv2d();
    conv_ = true;
    Conv2dShape& s = conv_shape_;
    s.batch = at_least_one(c.batch());
    s.c = c.c();
    s.h = c.h();
    s.w = c.w();
    s.filters = c.filters();
    s.kernel_h = c.kernel_h();
    s.kernel_w = c.kernel_w();
    s.stride_h = at_least_one(c.stride_h());
    s.stride_w = at_least_one(c.stride_w());
    s.pad_top = c.pad_top();
    s.pad_bottom = c.pad_bottom();
    s.pad_left = c.pad_left();
    s.pad_right = c.pad_right();
    s.dilation_h = at_least_one(c.dilation_h());
    s.dilation_w = at_least_one(c.dilation_w());
    s.groups = at_least_one(c.groups());
    if (s.c % s.groups != 0 || s.filters % s.groups != 0)
      throw std::invalid_argument("conv2d '" + op.name() + "': groups must divide c and filters");
    oh_ = s.out_h();
    ow_ = s.out_w();
    cg_ = s.c / s.groups;
    ng_ = s.filters / s.groups;
    padded_ = s.pad_top > 0 || s.pad_bottom > 0 || s.pad_left > 0 || s.pad_right > 0;
    subs_ = s.groups;
    m_ = s.batch * oh_ * ow_;
    n_ = ng_;
    k_ = s.kernel_h * s.kernel_w * cg_;
    a_elements_ = s.batch * s.c * s.h * s.w;
    b_elements_ = s.filters * k_;
  } else {
    throw std::invalid_argument("op '" + op.name() + "' is neither gemm nor conv2d");
  }
  if (m_ < 1 || n_ < 1 || k_ < 1)
    throw std::invalid_argument("op '" + op.name() + "' has an empty GEMM view (M, N, K >= 1)");
  switch (df_) {
    case Dataflow::kOs:
      rows_dim_ = m_, cols_dim_ = n_, stream_ = k_;
      a_step_m_ = rows, a_step_k_ = k_, b_step_k_ = k_, b_step_n_ = cols;
      break;
    case Dataflow::kWs:
      rows_dim_ = k_, cols_dim_ = n_, stream_ = m_;
      a_step_m_ = m_, a_step_k_ = rows, b_step_k_ = rows, b_step_n_ = cols;
      break;
    case Dataflow::kIs:
      rows_dim_ = k_, cols_dim_ = m_, stream_ = n_;
      a_step_m_ = cols, a_step_k_ = rows, b_step_k_ = rows, b_step_n_ = n_;
      break;
  }
}

int64_t OpMapping::conv_a_addr(int64_t s, int64_t m, int64_t k) const {
  const Conv2dShape& c = conv_shape_;
  const int64_t img = m / (oh_ * ow_), p = m % (oh_ * ow_);
  const int64_t khw = c.kernel_h * c.kernel_w, q = k % khw;
  const int64_t ih = (p / ow_) * c.stride_h - c.pad_top + (q / c.kernel_w) * c.dilation_h;
  const int64_t iw = (p % ow_) * c.stride_w - c.pad_left + (q % c.kernel_w) * c.dilation_w;
  if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) return -1;
  return ((img * c.c + s * cg_ + k / khw) * c.h + ih) * c.w + iw;
}

int64_t OpMapping::out_addr(int64_t s, int64_t m, int64_t n) const {
  if (!conv_) return (s * m_ + m) * n_ + n;
  const int64_t img = m / (oh_ * ow_), p = m % (oh_ * ow_);
  return ((img * conv_shape_.filters + s * ng_ + n) * oh_ + p / ow_) * ow_ + p % ow_;
}

int64_t OpMapping::a_real(int64_t m0, int64_t m1, int64_t k0, int64_t k1) const {
  if (!padded_) return (m1 - m0) * (k1 - k0);
  const Conv2dShape& c = conv_shape_;
  const int64_t khw = c.kernel_h * c.kernel_w;
  int64_t n = 0;
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t p = m % (oh_ * ow_);
    const int64_t ih0 = (p / ow_) * c.stride_h - c.pad_top;
    const int64_t iw0 = (p % ow_) * c.stride_w - c.pad_left;
    // A pixel whose whole receptive field lies inside the input has no padding at all.
    if (ih0 >= 0 && ih0 + (c.kernel_h - 1) * c.dilation_h < c.h && iw0 >= 0 &&
        iw0 + (c.kernel_w - 1) * c.dilation_w < c.w) {
      n += k1 - k0;
      continue;
    }
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t q = k % khw;
      const int64_t ih = ih0 + (q / c.kernel_w) * c.dilation_h;
      const int64_t iw = iw0 + (q % c.kernel_w) * c.dilation_w;
      n += ih >= 0 && ih < c.h && iw >= 0 && iw < c.w;
    }
  }
  return n;
}

int64_t OpMapping::a_tile_key(int64_t s, int64_t m0, int64_t k0) const {
  return (s * ceil_div(m_, a_step_m_) + m0 / a_step_m_) * ceil_div(k_, a_step_k_) + k0 / a_step_k_;
}

int64_t OpMapping::b_tile_key(int64_t s, int64_t k0, int64_t n0) const {
  const int64_t sb = (conv_ || b_batched_) ? s : 0;
  return (sb * ceil_div(k_, b_step_k_) + k0 / b_step_k_) * ceil_div(n_, b_step_n_) + n0 / b_step_n_;
}

int64_t OpMapping::a_segment_space() const {
  if (conv_) return conv_shape_.batch * conv_shape_.c * conv_shape_.h;
  return subs_ * ceil_div(m_, a_step_m_) * ceil_div(k_, a_step_k_);
}

int64_t OpMapping::b_segment_space() const {
  const int64_t sb = (conv_ || b_batched_) ? subs_ : 1;
  return sb * ceil_div(k_, b_step_k_) * ceil_div(n_, b_step_n_);
}

void OpMapping::kernel_rows(int64_t k0, int64_t k1, int64_t cl, int64_t& i_lo,
                            int64_t& i_hi) const {
  const int64_t khw = conv_shape_.kernel_h * conv_shape_.kernel_w;
  const int64_t lo = std::max(k0, cl * khw) - cl * khw;
  const int64_t hi = std::min(k1, (cl + 1) * khw) - 1 - cl * khw;
  i_lo = lo / conv_shape_.kernel_w;
  i_hi = hi / conv_shape_.kernel_w;
}

sim::TileFootprint OpMapping::a_footprint(int64_t s, int64_t m0, int64_t m1, int64_t k0, int64_t k1,
                                          int64_t elem_bytes) const {
  sim::TileFootprint fp;
  fp.key = a_tile_key(s, m0, k0);
  if (!conv_) {
    fp.bytes = (m1 - m0) * (k1 - k0) * elem_bytes;
    fp.segments.push_back({fp.key, fp.bytes});
    return fp;
  }
  // Input rows read by the output pixels [m0, m1) through kernel rows [i_lo, i_hi] of each
  // channel in [k0, k1); a row is fetched whole.
  const Conv2dShape& c = conv_shape_;
  const int64_t khw = c.kernel_h * c.kernel_w, ohw = oh_ * ow_;
  const int64_t row_bytes = c.w * elem_bytes;
  std::vector<uint8_t> rows(c.h);
  for (int64_t img = m0 / ohw; img <= (m1 - 1) / ohw; ++img) {
    const int64_t p0 = std::max(m0, img * ohw) - img * ohw;
    const int64_t p1 = std::min(m1, (img + 1) * ohw) - 1 - img * ohw;
    const int64_t oh_lo = p0 / ow_, oh_hi = p1 / ow_;
    int64_t last_lo = -1, last_hi = -1;
    for (int64_t cl = k0 / khw; cl <= (k1 - 1) / khw; ++cl) {
      int64_t i_lo, i_hi;
      kernel_rows(k0, k1, cl, i_lo, i_hi);
      if (i_lo != last_lo || i_hi != last_hi) {
        std::fill(rows.begin(), rows.end(), 0);
        for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
          for (int64_t i = i_lo; i <= i_hi; ++i) {
            const int64_t ih = oh * c.stride_h - c.pad_top + i * c.dilation_h;
            if (ih >= 0 && ih < c.h) rows[ih] = 1;
          }
        last_lo = i_lo;
        last_hi = i_hi;
      }
      const int64_t channel = s * cg_ + cl;
      for (int64_t ih = 0; ih < c.h; ++ih)
        if (rows[ih]) {
          fp.segments.push_back({(img * c.c + channel) * c.h + ih, row_bytes});
          fp.bytes += row_bytes;
        }
    }
  }
  return fp;
}

sim::TileFootprint OpMapping::b_footprint(int64_t s, int64_t k0, int64_t k1, int64_t n0, int64_t n1,
                                          int64_t elem_bytes) const {
  sim::TileFootprint fp;
  fp.key = b_tile_key(s, k0, n0);
  fp.bytes = (k1 - k0) * (n1 - n0) * elem_bytes;
  fp.segments.push_back({fp.key, fp.bytes});
  return fp;
}

GemmShape OpMapping::gemm_shape() const {
  GemmShape g;
  g.batch = subs_;
  g.m = m_;
  g.n = n_;
  g.k = k_;
  g.b_batched = b_batched_;
  return g;
}

std::vector<Fold> make_folds(const OpMapping& mp, int rows, int cols) {
  std::vector<Fold> folds;
  const int64_t row_tiles = ceil_div(mp.rows_dim(), rows);
  const int64_t col_tiles = ceil_div(mp.cols_dim(), cols);
  folds.reserve(static_cast<size_t>(mp.subs() * row_tiles * col_tiles));
  for (int64_t s = 0; s < mp.subs(); ++s)
    for (int64_t outer = 0; outer < (mp.dataflow() == Dataflow::kOs ? row_tiles : col_tiles);
         ++outer)
      for (int64_t inner = 0; inner < (mp.dataflow() == Dataflow::kOs ? col_tiles : row_tiles);
           ++inner) {
        // i indexes array-row tiles, j array-column tiles.
        const int64_t i = mp.dataflow() == Dataflow::kOs ? outer : inner;
        const int64_t j = mp.dataflow() == Dataflow::kOs ? inner : outer;
        const int64_t r0 = i * rows, r1 = std::min(mp.rows_dim(), r0 + rows);
        const int64_t c0 = j * cols, c1 = std::min(mp.cols_dim(), c0 + cols);
        Fold f;
        f.sub = s;
        f.rows_used = static_cast<int>(r1 - r0);
        f.cols_used = static_cast<int>(c1 - c0);
        switch (mp.dataflow()) {
          case Dataflow::kOs:
            f.m0 = r0, f.m1 = r1, f.n0 = c0, f.n1 = c1, f.k0 = 0, f.k1 = mp.k();
            break;
          case Dataflow::kWs:
            f.k0 = r0, f.k1 = r1, f.n0 = c0, f.n1 = c1, f.m0 = 0, f.m1 = mp.m();
            f.first_k = i == 0;
            f.last_k = i == row_tiles - 1;
            break;
          case Dataflow::kIs:
            f.k0 = r0, f.k1 = r1, f.m0 = c0, f.m1 = c1, f.n0 = 0, f.n1 = mp.n();
            f.first_k = i == 0;
            f.last_k = i == row_tiles - 1;
            break;
        }
        folds.push_back(f);
      }
  return folds;
}

}  // namespace codesim::arch::systolic
