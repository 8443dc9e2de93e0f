#include "core/train/item_item_trainer.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/parallel_for.h"

namespace recserve {
namespace {

absl::Status CheckParams(const ItemItemParams& p) {
  if (!(p.reg > 0) || !std::isfinite(p.reg)) {
    return absl::InvalidArgumentError(
        absl::StrCat("item-item reg must be finite and > 0, got ", p.reg));
  }
  if (!(p.recency_weight >= 0) || !std::isfinite(p.recency_weight)) {
    return absl::InvalidArgumentError(
        absl::StrCat("item-item recency weight must be finite and >= 0, got ",
                     p.recency_weight));
  }
  if (!(p.recency_horizon > 0) || !std::isfinite(p.recency_horizon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("item-item recency horizon must be finite and > 0, got ",
                     p.recency_horizon));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Eigen::MatrixXf> ItemCooccurrences(const Dataset& train) {
  const int32_t n = train.num_items();
  if (n < 1) {
    return absl::InvalidArgumentError("item-item model: the data has no items");
  }
  if (n > kMaxItemItemItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("item-item model: ", n, " items; at most ",
                     kMaxItemItemItems, " (it holds items² weights)"));
  }
  // Each user's distinct positive items.
  std::vector<std::vector<int32_t>> by_user(train.num_users());
  for (const Rating& r : train.ratings) {
    if (r.value >= 0) by_user[r.user].push_back(r.item);
  }
  // The lower triangle: what the Cholesky factorization reads. Counts are
  // exact in float up to 2^24 users per pair.
  Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(n, n);
  for (std::vector<int32_t>& items : by_user) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    for (size_t a = 0; a < items.size(); ++a) {
      float* column = gram.col(items[a]).data();
      for (size_t b = a; b < items.size(); ++b) column[items[b]] += 1.0f;
    }
    items.clear();
    items.shrink_to_fit();
  }
  return gram;
}

absl::StatusOr<ItemItemModel> SolveItemItem(
    const Eigen::MatrixXf& cooccurrences, const ItemItemParams& params,
    int32_t threads) {
  if (absl::Status s = CheckParams(params); !s.ok()) return s;
  const Eigen::Index n = cooccurrences.rows();
  Eigen::MatrixXf regularized = cooccurrences;
  regularized.diagonal().array() += params.reg;
  Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt(regularized);
  if (llt.info() != Eigen::Success) {
    return absl::InternalError(
        "item-item model: G + λI is not positive definite (numerical "
        "breakdown)");
  }
  regularized.resize(0, 0);
  // P = (G + λI)⁻¹, a block of columns per worker.
  Eigen::MatrixXf inverse(n, n);
  ParallelFor(
      n, threads,
      [&](int64_t begin, int64_t end, int32_t) {
        const Eigen::Index width = static_cast<Eigen::Index>(end - begin);
        Eigen::MatrixXf block = Eigen::MatrixXf::Zero(n, width);
        for (Eigen::Index c = 0; c < width; ++c) block(begin + c, c) = 1.0f;
        llt.solveInPlace(block);
        inverse.middleCols(begin, width) = block;
      },
      /*chunk=*/256);
  ItemItemModel model;
  model.params = params;
  // B(i, j) = −P(i, j) / P(j, j): column j of P scaled.
  const Eigen::RowVectorXf scale = -inverse.diagonal().cwiseInverse();
  model.weights = inverse * scale.asDiagonal();
  model.weights.diagonal().setZero();
  return model;
}

absl::StatusOr<ItemItemModel> TrainItemItem(const Dataset& train,
                                            const ItemItemParams& params,
                                            int32_t threads) {
  if (absl::Status s = CheckParams(params); !s.ok()) return s;
  absl::StatusOr<Eigen::MatrixXf> gram = ItemCooccurrences(train);
  if (!gram.ok()) return gram.status();
  return SolveItemItem(*gram, params, threads);
}

}  // namespace recserve
