#ifndef RECSERVE_CORE_MODEL_ATTRIBUTE_MAP_H_
#define RECSERVE_CORE_MODEL_ATTRIBUTE_MAP_H_

// Maps from item attributes (core/data/item_attributes.h) to an embedding
// space: ridge regression from attribute rows to the trained rows of the
// items that have interactions (the attribute-to-feature mapping of Gantner
// et al., ICDM 2010), its regularization chosen on held-out items. Items
// nobody has interacted with get their rows from it ("cold" items).

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/item_attributes.h"
#include "core/model/mf_model.h"

namespace recserve {

// Attribute rows of many items, CSR: row r is indices/values
// [offsets[r], offsets[r + 1]).
struct AttributeMatrix {
  int32_t num_attributes = 0;
  std::vector<int64_t> offsets = {0};
  std::vector<int32_t> indices;
  std::vector<float> values;

  int32_t rows() const { return static_cast<int32_t>(offsets.size()) - 1; }
  // Appends one row; its indices must be ascending and < num_attributes.
  void Append(const AttributeRow& row);
};

// A linear map: out = intercept + Σ value · weights.row(index). A plain value.
struct AttributeMap {
  // (num_attributes + 1) x width; the last row is the intercept.
  FactorMatrix weights;
  // The ridge regularization it was fitted with.
  float reg = 0.0f;

  int32_t num_attributes() const {
    return static_cast<int32_t>(weights.rows()) - 1;
  }
  int32_t width() const { return static_cast<int32_t>(weights.cols()); }
  // Writes the mapped row of `row` into `out` (width() floats). Indices out
  // of range are ignored.
  void Apply(const AttributeRow& row, absl::Span<float> out) const;
};

struct AttributeMapOptions {
  // Candidate ridge regularizations (each > 0), tried on held-out items.
  std::vector<float> reg_grid = {0.3f, 1.0f, 3.0f, 10.0f, 30.0f, 100.0f};
  // Share of the rows held out to choose the regularization, in (0, 1).
  double holdout_fraction = 0.1;
  uint64_t seed = 1;
  // Rows with these weights in the squared loss (e.g. to favour popular
  // items); empty weighs every row 1. Each must be finite and >= 0; a row
  // of weight 0 does not affect the fit (nor the held-out error).
  std::vector<float> row_weights;
  // Threads for the Gram matrix and the products of the grid search; <= 0
  // means all hardware threads (parallel_for.h). The result does not depend
  // on it. Default 0.
  int32_t threads = 0;
};

struct AttributeMapTrial {
  float reg = 0.0f;
  // Mean squared error per target value on the held-out rows (weighted by
  // row_weights).
  double holdout_mse = 0.0;
};

struct AttributeMapFit {
  // Fitted on every row with the chosen regularization.
  AttributeMap map;
  // One per reg_grid value, in its order.
  std::vector<AttributeMapTrial> trials;
  // The held-out error of the intercept alone (every item mapped to the
  // mean row), for comparison.
  double holdout_mse_of_mean = 0.0;
  int32_t holdout_rows = 0;
};

// Fits the map from `x` (rows: items) to `targets` (same rows, any width):
// the intercept is the (weighted) mean target row and is not regularized;
// each candidate regularization is fitted on the rows not held out and
// scored on the held-out ones; the best (lowest error, ties to the larger
// reg) is refitted on every row. Deterministic for a seed. Errors:
// InvalidArgument when the shapes disagree, there are fewer than 2 rows, the
// grid is empty or holds a value <= 0, or targets are not finite.
//
// How: the attribute columns and the targets are centred by their weighted
// means x̄, ȳ over the rows fitted, W = (XcᵀΩXc + reg I)⁻¹ XcᵀΩYc, and the
// intercept row is ȳ - x̄ W: exactly the ridge solution with an unpenalized
// intercept (with no attributes, the weighted mean row; the mean prediction
// over the fitted rows is always ȳ). The held-out rows are a seeded random
// round(holdout_fraction * rows) of the rows of positive weight (at least 1,
// at most all but 1); rows of weight 0 take no part at all. Also
// InvalidArgument for a malformed matrix (offsets, indices not ascending in
// [0, num_attributes), values not finite), a holdout_fraction outside
// (0, 1), row_weights of the wrong size or negative, or fewer than 2 rows of
// positive weight; Internal if a factorization fails.
//
// Cost: the Gram matrix is formed from the sparse rows (Σ nonzeros² per
// row, plus nonzeros x width), then each reg costs one Cholesky
// factorization of it (d³/3, d = num_attributes) and a solve (2 d² width),
// the candidates in parallel: memory about 2 d² doubles, plus 2 d² per
// thread. Results do not depend on options.threads.
absl::StatusOr<AttributeMapFit> FitAttributeMap(
    const AttributeMatrix& x, Eigen::Ref<const FactorMatrix> targets,
    const AttributeMapOptions& options);

// What a snapshot records to place new items: the featurization and one
// map per embedding space.
struct ItemAttributeModel {
  AttributeSpec spec;
  // Rating model: width factors + 1, the item factors then the item bias.
  // Absent without a rating model (implicit feedback).
  std::optional<AttributeMap> rating;
  // Retrieval embeddings: width = their k.
  AttributeMap retrieval;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_ATTRIBUTE_MAP_H_
