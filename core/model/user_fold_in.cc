#include "core/model/user_fold_in.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/model/row_least_squares.h"

namespace recserve {
namespace {

bool AllFinite(const Eigen::VectorXf& v) { return v.allFinite(); }

}  // namespace

RatingUserPrior RatingUserPrior::Ridge(int32_t factors, float reg,
                                       float bias_reg) {
  RatingUserPrior prior;
  prior.mean = Eigen::VectorXf::Zero(factors + 1);
  prior.precision = Eigen::VectorXf::Constant(factors + 1, reg);
  prior.precision[factors] = bias_reg;
  prior.scales_with_count = true;
  return prior;
}

absl::Status ValidateFoldInParams(const FoldInParams& params,
                                  int32_t rating_factors) {
  const RatingUserPrior& prior = params.rating;
  const Eigen::Index want = static_cast<Eigen::Index>(rating_factors) + 1;
  if (prior.mean.size() != want || prior.precision.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("fold_in.rating: mean and precision need ", want,
                     " values (factors + 1), got ", prior.mean.size(), " and ",
                     prior.precision.size()));
  }
  if (!AllFinite(prior.mean)) {
    return absl::InvalidArgumentError(
        "fold_in.rating.mean holds a value that is not finite");
  }
  if (!AllFinite(prior.precision) || !(prior.precision.array() > 0).all()) {
    return absl::InvalidArgumentError(
        "fold_in.rating.precision values must be finite and > 0");
  }
  const RetrievalFoldInParams& r = params.retrieval;
  if (!(r.reg > 0) || !std::isfinite(r.reg)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in.retrieval.reg must be finite and > 0, got ", r.reg));
  }
  if (!(r.alpha >= 0) || !std::isfinite(r.alpha)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in.retrieval.alpha must be finite and >= 0, got ", r.alpha));
  }
  if (!(r.unobserved_weight > 0) || !std::isfinite(r.unobserved_weight)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in.retrieval.unobserved_weight must be finite and > 0, got ",
        r.unobserved_weight));
  }
  return absl::OkStatus();
}

UserFoldIn::UserFoldIn(Eigen::Map<const FactorMatrix> item_factors,
                       Eigen::Map<const Eigen::VectorXf> item_bias,
                       float global_mean,
                       Eigen::Map<const FactorMatrix> item_embeddings,
                       FoldInParams params)
    : item_factors_(item_factors),
      item_bias_(item_bias),
      global_mean_(global_mean),
      item_embeddings_(item_embeddings),
      params_(std::move(params)),
      retrieval_(item_embeddings,
                 {.reg = params_.retrieval.reg,
                  .unobserved_weight = params_.retrieval.unobserved_weight}) {}

void UserFoldIn::Confidences(absl::Span<const UserInteraction> interactions,
                             std::vector<int32_t>* items,
                             std::vector<float>* confidences) const {
  // One entry per item, ascending, its confidences summed: the row solver
  // counts the unobserved weight once per entry, and an item is one cell of
  // the user's row however often it was interacted with.
  std::vector<std::pair<int32_t, float>> cells;
  cells.reserve(interactions.size());
  for (const UserInteraction& x : interactions) {
    cells.emplace_back(x.item, Confidence(params_.retrieval.confidence(), x.rating) *
                                    x.weight);
  }
  std::sort(cells.begin(), cells.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  items->clear();
  confidences->clear();
  for (const auto& [item, confidence] : cells) {
    if (!items->empty() && items->back() == item) {
      confidences->back() += confidence;
    } else {
      items->push_back(item);
      confidences->push_back(confidence);
    }
  }
}

FoldedInUser UserFoldIn::FoldIn(
    absl::Span<const UserInteraction> interactions) const {
  FoldedInUser user;
  // Retrieval: the implicit-ALS user row.
  std::vector<int32_t> items;
  std::vector<float> confidences;
  Confidences(interactions, &items, &confidences);
  ImplicitRowSolver::Scratch scratch;
  user.embedding.resize(retrieval_.dimensions());
  retrieval_.Solve(items, confidences, &scratch, user.embedding);

  // Rating model: the rated interactions only. A weight scales a rating's
  // squared error, as a repeated rating would.
  std::vector<int32_t> rated_items;
  std::vector<float> ratings;
  std::vector<float> weights;
  for (const UserInteraction& x : interactions) {
    if (x.rating == 0.0f || !(x.weight > 0.0f)) continue;
    rated_items.push_back(x.item);
    ratings.push_back(x.rating);
    weights.push_back(x.weight);
  }
  const Eigen::Index k = item_factors_.cols();
  const RatingUserPrior& prior = params_.rating;
  RowLeastSquares ls;
  ls.Build(rated_items, ratings, item_factors_, item_bias_, global_mean_,
           weights);
  double count = 0.0;
  for (const float w : weights) count += w;
  const float scale =
      prior.scales_with_count ? static_cast<float>(count) : 1.0f;
  user.rated = static_cast<int32_t>(rated_items.size());
  if (scale == 0.0f) {
    // No rated interaction under a ridge prior: the prior mean (zero).
    user.factors = prior.mean.head(k).transpose();
    user.bias = prior.mean[k];
    return user;
  }
  ls.gram.diagonal() += scale * prior.precision;
  ls.rhs += scale * prior.precision.cwiseProduct(prior.mean);
  const Eigen::VectorXf x =
      Eigen::LLT<Eigen::MatrixXf, Eigen::Lower>(ls.gram).solve(ls.rhs);
  user.factors = x.head(k).transpose();
  user.bias = x[k];
  return user;
}

Eigen::MatrixXf UserFoldIn::Explain(
    absl::Span<const UserInteraction> interactions,
    absl::Span<const int32_t> items,
    std::vector<int32_t>* interaction_items) const {
  std::vector<int32_t> rows;
  std::vector<float> confidences;
  Confidences(interactions, &rows, &confidences);
  if (interaction_items != nullptr) *interaction_items = rows;
  // Eigen's solvers must not see an empty right-hand side.
  if (items.empty() || rows.empty()) {
    return Eigen::MatrixXf::Zero(static_cast<Eigen::Index>(items.size()),
                                 static_cast<Eigen::Index>(rows.size()));
  }
  ImplicitRowSolver::Scratch scratch;
  retrieval_.Form(rows, confidences, &scratch);
  const Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt(scratch.a);
  const Eigen::Index k = item_embeddings_.cols();
  // W⁻¹ o_i for every explained item at once.
  Eigen::MatrixXf targets(k, static_cast<Eigen::Index>(items.size()));
  for (size_t r = 0; r < items.size(); ++r) {
    targets.col(static_cast<Eigen::Index>(r)) =
        item_embeddings_.row(items[r]).transpose();
  }
  const Eigen::MatrixXf solved = llt.solve(targets);  // k x items
  Eigen::MatrixXf gathered(static_cast<Eigen::Index>(rows.size()), k);
  for (size_t j = 0; j < rows.size(); ++j) {
    gathered.row(static_cast<Eigen::Index>(j)) =
        item_embeddings_.row(rows[j]) * confidences[j];
  }
  // (items x k) · (k x n): row r, column j = c_j o_jᵀ W⁻¹ o_r.
  return solved.transpose() * gathered.transpose();
}

}  // namespace recserve
