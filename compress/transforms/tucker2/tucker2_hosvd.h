#pragma once
// Tucker-2 decomposition of a convolution kernel over its output and input channel modes by
// truncated HOSVD (De Lathauwer et al. 2000; used for CNN compression by Kim et al., ICLR 2016):
//   W [F, C, kh, kw] ~= G x_0 U_out x_1 U_in,  G [R_out, R_in, kh, kw], U_out [F, R_out],
//   U_in [C, R_in],
// U_out / U_in the leading left singular vectors of the mode-0 / mode-1 unfoldings and
// G = W x_0 U_out^T x_1 U_in^T. The convolution then runs as a 1x1 projection C -> R_in, the
// kh x kw convolution R_in -> R_out and a 1x1 projection R_out -> F.
// Parameters (closed form): R_out·R_in·kh·kw + F·R_out + C·R_in.
// Because the bases of smaller ranks are nested and the two projections commute, the error
// ||W - W_hat|| never increases with either rank; it is 0 at full rank (R_out = F, R_in = C).

#include <Eigen/Dense>
#include <cstdint>

#include "compress/transforms/tt/tensor_algebra.h"

namespace codesim::compress {

struct Tucker2 {
  DenseTensor core;       // [R_out, R_in, kh, kw]
  Eigen::MatrixXd u_out;  // [F, R_out]
  Eigen::MatrixXd u_in;   // [C, R_in]
  double energy_kept_out = 1, energy_kept_in = 1;

  int64_t params() const;
};

int64_t tucker2_params(int64_t filters, int64_t channels, int64_t kh, int64_t kw, int64_t rank_out,
                       int64_t rank_in);

// `kernel` has shape [F, C, kh, kw]; ranks are capped at F and C (more adds nothing). Throws
// std::invalid_argument for a non-4-D kernel or ranks < 1.
Tucker2 tucker2_hosvd(const DenseTensor& kernel, int64_t rank_out, int64_t rank_in);

// The kernel [F, C, kh, kw] the decomposition represents.
DenseTensor tucker2_to_kernel(const Tucker2& t);

}  // namespace codesim::compress
