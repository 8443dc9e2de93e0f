#include "core/train/posterior_mean.h"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "absl/status/status.h"

namespace recserve {
namespace {

constexpr Eigen::Index kBlockRows = 4096;

// Rows [begin, begin + count) of [X_1 … X_S] / √S, X = user or item factors.
Eigen::MatrixXd SideBySide(const std::vector<MfModel>& samples, bool users,
                           Eigen::Index begin, Eigen::Index count) {
  const Eigen::Index k = samples.front().factors();
  Eigen::MatrixXd joined(count, k * static_cast<Eigen::Index>(samples.size()));
  const double scale = 1.0 / std::sqrt(static_cast<double>(samples.size()));
  for (size_t s = 0; s < samples.size(); ++s) {
    const FactorMatrix& f =
        users ? samples[s].user_factors : samples[s].item_factors;
    joined.middleCols(static_cast<Eigen::Index>(s) * k, k) =
        f.middleRows(begin, count).cast<double>() * scale;
  }
  return joined;
}

// For X (one side, laid side by side) = Q R with orthonormal Q: R and the
// map M with Q = X M, from the eigendecomposition XᵀX = E D Eᵀ (R = D^½ Eᵀ,
// M = E D^-½). Directions without energy are dropped (zero in both).
void Factor(const std::vector<MfModel>& samples, bool users, Eigen::MatrixXd* r,
            Eigen::MatrixXd* m) {
  const MfModel& first = samples.front();
  const Eigen::Index rows = users ? first.num_users() : first.num_items();
  const Eigen::Index width =
      first.factors() * static_cast<Eigen::Index>(samples.size());
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(width, width);
  for (Eigen::Index begin = 0; begin < rows; begin += kBlockRows) {
    const Eigen::MatrixXd block =
        SideBySide(samples, users, begin, std::min(kBlockRows, rows - begin));
    gram.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(
      gram.selfadjointView<Eigen::Lower>());
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

// X T, a block of rows at a time, as floats.
FactorMatrix Project(const std::vector<MfModel>& samples, bool users,
                     const Eigen::MatrixXd& transform) {
  const MfModel& first = samples.front();
  const Eigen::Index rows = users ? first.num_users() : first.num_items();
  FactorMatrix out(rows, transform.cols());
  for (Eigen::Index begin = 0; begin < rows; begin += kBlockRows) {
    const Eigen::Index count = std::min(kBlockRows, rows - begin);
    out.middleRows(begin, count) =
        (SideBySide(samples, users, begin, count) * transform).cast<float>();
  }
  return out;
}

}  // namespace

PosteriorMean::PosteriorMean(int32_t max_samples, int64_t samples_to_come)
    : stride_(std::max<int64_t>(1, (std::max<int64_t>(samples_to_come, 1) +
                                    std::max<int32_t>(max_samples, 1) - 1) /
                                       std::max<int32_t>(max_samples, 1))) {}

void PosteriorMean::Add(const MfModel& sample) {
  if (offered_ == 0) {
    user_bias_sum_ = Eigen::VectorXd::Zero(sample.num_users());
    item_bias_sum_ = Eigen::VectorXd::Zero(sample.num_items());
  }
  user_bias_sum_ += sample.user_bias.cast<double>();
  item_bias_sum_ += sample.item_bias.cast<double>();
  if (offered_++ % stride_ == 0) kept_.push_back(sample);
}

absl::StatusOr<MfModel> PosteriorMean::Model(int32_t rank) const {
  if (kept_.empty()) {
    return absl::FailedPreconditionError("posterior mean: no samples yet");
  }
  if (rank < 1) {
    return absl::InvalidArgumentError("posterior mean: rank must be >= 1");
  }
  Eigen::MatrixXd user_r, user_map, item_r, item_map;
  Factor(kept_, /*users=*/true, &user_r, &user_map);
  Factor(kept_, /*users=*/false, &item_r, &item_map);
  // U Vᵀ = Qu (Ru Rvᵀ) Qvᵀ; the SVD of the small middle gives the rest.
  Eigen::BDCSVD<Eigen::MatrixXd> svd(user_r * item_r.transpose(),
                                     Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::Index r =
      std::min<Eigen::Index>(rank, svd.singularValues().size());
  const Eigen::VectorXd root = svd.singularValues().head(r).cwiseSqrt();
  MfModel model;
  model.global_mean = kept_.front().global_mean;
  model.scale = kept_.front().scale;
  model.user_bias = (user_bias_sum_ / offered_).cast<float>();
  model.item_bias = (item_bias_sum_ / offered_).cast<float>();
  model.user_factors = FactorMatrix::Zero(user_bias_sum_.size(), rank);
  model.item_factors = FactorMatrix::Zero(item_bias_sum_.size(), rank);
  model.user_factors.leftCols(r) = Project(
      kept_, true, user_map * svd.matrixU().leftCols(r) * root.asDiagonal());
  model.item_factors.leftCols(r) = Project(
      kept_, false, item_map * svd.matrixV().leftCols(r) * root.asDiagonal());
  return model;
}

int32_t AffordableSamples(int32_t wanted, int64_t rows, int32_t factors,
                          int64_t bytes) {
  const int64_t per_sample = std::max<int64_t>(
      1, rows * std::max(factors, 1) * static_cast<int64_t>(sizeof(float)));
  return static_cast<int32_t>(
      std::clamp<int64_t>(bytes / per_sample, 1, std::max(wanted, 1)));
}

}  // namespace recserve
