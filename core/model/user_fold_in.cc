#include "core/model/user_fold_in.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/model/recency_factors.h"
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

namespace {

absl::Status ValidateRetrieval(const RetrievalFoldInParams& r) {
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
  if (r.scale != ConfidenceScale::kLinear && r.scale != ConfidenceScale::kLog) {
    return absl::InvalidArgumentError("fold_in.retrieval.scale is unknown");
  }
  if (!(r.epsilon > 0) || !std::isfinite(r.epsilon)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in.retrieval.epsilon must be finite and > 0, got ", r.epsilon));
  }
  if (!(r.reg_exponent >= 0) || !std::isfinite(r.reg_exponent)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fold_in.retrieval.reg_exponent must be finite and >= 0, "
                     "got ",
                     r.reg_exponent));
  }
  if (!(r.recency_weight >= 0) || !std::isfinite(r.recency_weight)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in.retrieval.recency_weight must be finite and >= 0, got ",
        r.recency_weight));
  }
  if (!(r.recency_horizon > 0) || !std::isfinite(r.recency_horizon)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in.retrieval.recency_horizon must be finite and > 0, got ",
        r.recency_horizon));
  }
  return absl::OkStatus();
}

}  // namespace

bool HasDefaultConfidence(const RetrievalFoldInParams& params) {
  const RetrievalFoldInParams defaults;
  return params.scale == defaults.scale && params.epsilon == defaults.epsilon &&
         params.reg_exponent == defaults.reg_exponent;
}

absl::Status ValidateFoldInParams(const FoldInParams& params,
                                  int32_t rating_factors) {
  const RatingUserPrior& prior = params.rating;
  if (rating_factors == kNoRatingModel) {
    if (params.has_rating()) {
      return absl::InvalidArgumentError(
          "fold_in.rating: a snapshot without a rating model (implicit "
          "feedback) has no rating prior");
    }
    return ValidateRetrieval(params.retrieval);
  }
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
  return ValidateRetrieval(params.retrieval);
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

UserFoldIn::UserFoldIn(Eigen::Map<const FactorMatrix> item_embeddings,
                       FoldInParams params)
    : UserFoldIn(Eigen::Map<const FactorMatrix>(nullptr, 0, 0),
                 Eigen::Map<const Eigen::VectorXf>(nullptr, 0), 0.0f,
                 item_embeddings, std::move(params)) {}

UserFoldIn::Cells UserFoldIn::RetrievalCells(
    absl::Span<const UserInteraction> interactions) const {
  // One cell per item, ascending: the row solver counts the unobserved
  // weight once per entry, and an item is one cell of the user's row however
  // often it was interacted with. Within a cell, oldest first, so that its
  // last entry is its latest interaction.
  std::vector<size_t> entries(interactions.size());
  std::iota(entries.begin(), entries.end(), size_t{0});
  std::sort(entries.begin(), entries.end(), [&](size_t a, size_t b) {
    const UserInteraction& x = interactions[a];
    const UserInteraction& y = interactions[b];
    if (x.item != y.item) return x.item < y.item;
    return x.time != y.time ? x.time < y.time : a < b;
  });
  Cells cells;
  std::vector<size_t> ends;  // each cell's entries end
  std::vector<int64_t> times;
  for (size_t j = 0; j < entries.size();) {
    size_t end = j;
    while (end < entries.size() &&
           interactions[entries[end]].item == interactions[entries[j]].item) {
      ++end;
    }
    cells.items.push_back(interactions[entries[j]].item);
    times.push_back(interactions[entries[end - 1]].time);
    ends.push_back(end);
    j = end;
  }
  const RetrievalFoldInParams& r = params_.retrieval;
  std::vector<double> recency;
  if (HasRecency(r)) {
    recency = RecencyFactors(times, r.recency_weight, r.recency_horizon);
  }
  const ConfidenceParams confidence = r.confidence();
  const bool implicit = !has_rating_model();
  cells.confidences.reserve(cells.items.size());
  cells.preferences.reserve(cells.items.size());
  size_t begin = 0;
  for (size_t c = 0; c < cells.items.size(); begin = ends[c], ++c) {
    // As training scales a stored value: value · float(factor).
    const float factor =
        recency.empty() ? 1.0f : static_cast<float>(recency[c]);
    float confidence_sum = 0.0f, positive = 0.0f, negative = 0.0f;
    for (size_t e = begin; e < ends[c]; ++e) {
      const UserInteraction& x = interactions[entries[e]];
      if (implicit) {
        if (x.value < 0.0f) {
          negative -= x.value;
        } else {
          positive += x.value;
        }
      } else {
        confidence_sum += Confidence(confidence, x.rating * factor) * x.weight;
      }
    }
    if (implicit) {
      // The polarity of the latest interaction, as the reader aggregates.
      const bool is_negative = interactions[entries[ends[c] - 1]].value < 0.0f;
      cells.confidences.push_back(
          Confidence(confidence, (is_negative ? negative : positive) * factor));
      cells.preferences.push_back(is_negative ? 0.0f : 1.0f);
    } else {
      cells.confidences.push_back(confidence_sum);
      cells.preferences.push_back(1.0f);
    }
  }
  return cells;
}

float UserFoldIn::RegScale(size_t cells) const {
  return FrequencyRegScale(
      static_cast<int64_t>(cells), params_.retrieval.unobserved_weight,
      item_embeddings_.rows(), params_.retrieval.reg_exponent);
}

FoldedInUser UserFoldIn::FoldIn(
    absl::Span<const UserInteraction> interactions) const {
  FoldedInUser user;
  // Retrieval: the implicit-ALS user row.
  const Cells cells = RetrievalCells(interactions);
  ImplicitRowSolver::Scratch scratch;
  user.embedding.resize(retrieval_.dimensions());
  retrieval_.Solve(cells.items, cells.confidences, &scratch, user.embedding,
                   cells.preferences, RegScale(cells.items.size()));
  if (!has_rating_model()) return user;

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
  const Cells cells = RetrievalCells(interactions);
  const std::vector<int32_t>& rows = cells.items;
  if (interaction_items != nullptr) *interaction_items = rows;
  // Eigen's solvers must not see an empty right-hand side.
  if (items.empty() || rows.empty()) {
    return Eigen::MatrixXf::Zero(static_cast<Eigen::Index>(items.size()),
                                 static_cast<Eigen::Index>(rows.size()));
  }
  ImplicitRowSolver::Scratch scratch;
  retrieval_.Form(rows, cells.confidences, &scratch, cells.preferences,
                  RegScale(rows.size()));
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
        item_embeddings_.row(rows[j]) *
        (cells.confidences[j] * cells.preferences[j]);
  }
  // (items x k) · (k x n): row r, column j = c_j o_jᵀ W⁻¹ o_r.
  return solved.transpose() * gathered.transpose();
}

}  // namespace recserve
