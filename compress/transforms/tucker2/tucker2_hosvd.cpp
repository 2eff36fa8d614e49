#include "compress/transforms/tucker2/tucker2_hosvd.h"

#include <algorithm>
#include <stdexcept>

namespace codesim::compress {

int64_t tucker2_params(int64_t f, int64_t c, int64_t kh, int64_t kw, int64_t r_out, int64_t r_in) {
  return r_out * r_in * kh * kw + f * r_out + c * r_in;
}

int64_t Tucker2::params() const {
  return tucker2_params(u_out.rows(), u_in.rows(), core.shape[2], core.shape[3], u_out.cols(),
                        u_in.cols());
}

Tucker2 tucker2_hosvd(const DenseTensor& w, int64_t rank_out, int64_t rank_in) {
  if (w.shape.size() != 4) throw std::invalid_argument("tucker2: kernel must be [F, C, kh, kw]");
  if (rank_out < 1 || rank_in < 1) throw std::invalid_argument("tucker2: ranks must be >= 1");
  Tucker2 t;
  const LeadingSubspace out = mode_subspace(w, 0, std::min(rank_out, w.shape[0]));
  const LeadingSubspace in = mode_subspace(w, 1, std::min(rank_in, w.shape[1]));
  t.u_out = out.basis;
  t.u_in = in.basis;
  t.energy_kept_out = out.energy_kept;
  t.energy_kept_in = in.energy_kept;
  t.core = mode_product(mode_product(w, 0, t.u_out), 1, t.u_in);
  return t;
}

DenseTensor tucker2_to_kernel(const Tucker2& t) {
  return mode_product(mode_product(t.core, 0, t.u_out.transpose()), 1, t.u_in.transpose());
}

}  // namespace codesim::compress
