#include "core/train/posterior_mean.h"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "absl/status/status.h"

namespace recserve {
namespace {

// [X_1 … X_S] / √S.
Eigen::MatrixXd SideBySide(const std::vector<MfModel>& samples, bool users) {
  const MfModel& first = samples.front();
  const Eigen::Index rows = users ? first.num_users() : first.num_items();
  const Eigen::Index k = first.factors();
  Eigen::MatrixXd joined(rows, k * static_cast<Eigen::Index>(samples.size()));
  const double scale = 1.0 / std::sqrt(static_cast<double>(samples.size()));
  for (size_t s = 0; s < samples.size(); ++s) {
    const FactorMatrix& f =
        users ? samples[s].user_factors : samples[s].item_factors;
    joined.middleCols(static_cast<Eigen::Index>(s) * k, k) =
        f.cast<double>() * scale;
  }
  return joined;
}

// For X = Q R with orthonormal Q: returns (R, X⁻ R⁻¹-like map) as the pair
// (R, M) with Q = X M, from the eigendecomposition XᵀX = E D Eᵀ; directions
// with no energy are dropped (their columns of M are zero).
void Factor(const Eigen::MatrixXd& x, Eigen::MatrixXd* r, Eigen::MatrixXd* m) {
  const Eigen::MatrixXd gram = x.transpose() * x;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram);
  const Eigen::VectorXd d = eig.eigenvalues().cwiseMax(0.0);
  const double floor = std::max(d.maxCoeff(), 1e-300) * 1e-12;
  Eigen::VectorXd root(d.size()), inv_root(d.size());
  for (Eigen::Index i = 0; i < d.size(); ++i) {
    root[i] = d[i] > floor ? std::sqrt(d[i]) : 0.0;
    inv_root[i] = d[i] > floor ? 1.0 / root[i] : 0.0;
  }
  *r = root.asDiagonal() * eig.eigenvectors().transpose();
  *m = eig.eigenvectors() * inv_root.asDiagonal();
}

}  // namespace

void PosteriorMean::Add(const MfModel& sample) {
  if (bias_count_ == 0) {
    user_bias_sum_ = Eigen::VectorXd::Zero(sample.num_users());
    item_bias_sum_ = Eigen::VectorXd::Zero(sample.num_items());
  }
  user_bias_sum_ += sample.user_bias.cast<double>();
  item_bias_sum_ += sample.item_bias.cast<double>();
  ++bias_count_;
  if (offered_++ % stride_ != 0) return;
  if (static_cast<int32_t>(kept_.size()) == max_samples_) {
    std::vector<MfModel> thinned;
    for (size_t s = 0; s < kept_.size(); s += 2)
      thinned.push_back(std::move(kept_[s]));
    kept_ = std::move(thinned);
    stride_ *= 2;
    if ((offered_ - 1) % stride_ != 0) return;
  }
  kept_.push_back(sample);
}

absl::StatusOr<MfModel> PosteriorMean::Model(int32_t rank) const {
  if (kept_.empty()) {
    return absl::FailedPreconditionError("posterior mean: no samples yet");
  }
  if (rank < 1) {
    return absl::InvalidArgumentError("posterior mean: rank must be >= 1");
  }
  const Eigen::MatrixXd users = SideBySide(kept_, true);
  const Eigen::MatrixXd items = SideBySide(kept_, false);
  Eigen::MatrixXd user_r, user_map, item_r, item_map;
  Factor(users, &user_r, &user_map);
  Factor(items, &item_r, &item_map);
  // U Vᵀ = Qu (Ru Rvᵀ) Qvᵀ; the SVD of the small middle gives the rest.
  Eigen::BDCSVD<Eigen::MatrixXd> svd(user_r * item_r.transpose(),
                                     Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::Index r =
      std::min<Eigen::Index>(rank, svd.singularValues().size());
  const Eigen::VectorXd root = svd.singularValues().head(r).cwiseSqrt();
  MfModel model;
  model.global_mean = kept_.front().global_mean;
  model.scale = kept_.front().scale;
  model.user_bias = (user_bias_sum_ / bias_count_).cast<float>();
  model.item_bias = (item_bias_sum_ / bias_count_).cast<float>();
  model.user_factors =
      (users * (user_map * svd.matrixU().leftCols(r) * root.asDiagonal()))
          .cast<float>();
  model.item_factors =
      (items * (item_map * svd.matrixV().leftCols(r) * root.asDiagonal()))
          .cast<float>();
  if (r < rank) {
    // Fewer directions than asked for: pad, so the shape is as promised.
    model.user_factors.conservativeResize(Eigen::NoChange, rank);
    model.item_factors.conservativeResize(Eigen::NoChange, rank);
    model.user_factors.rightCols(rank - r).setZero();
    model.item_factors.rightCols(rank - r).setZero();
  }
  return model;
}

}  // namespace recserve
