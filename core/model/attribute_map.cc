#include "core/model/attribute_map.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

using RowMajorMatrixXd =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The weighted sums of a set of rows that ridge regression needs.
struct Moments {
  Eigen::MatrixXd gram;    // d x d: Σ w x xᵀ
  RowMajorMatrixXd cross;  // d x m: Σ w x yᵀ
  Eigen::VectorXd x_sum;   // d: Σ w x
  Eigen::VectorXd y_sum;   // m: Σ w y
  double weight = 0.0;     // Σ w

  void Add(const Moments& other) {
    gram += other.gram;
    cross += other.cross;
    x_sum += other.x_sum;
    y_sum += other.y_sum;
    weight += other.weight;
  }
};

// The sums over `rows` (ascending). Each attribute's column of the Gram
// matrix and row of the cross products is accumulated by one thread in row
// order, so the result does not depend on the number of threads.
Moments Accumulate(const AttributeMatrix& x,
                   const Eigen::Ref<const FactorMatrix>& y,
                   const std::vector<int32_t>& rows,
                   const std::vector<double>& w, int32_t threads) {
  const int32_t d = x.num_attributes;
  const int64_t m = y.cols();
  Moments s;
  s.gram = Eigen::MatrixXd::Zero(d, d);
  s.cross = RowMajorMatrixXd::Zero(d, m);
  s.x_sum = Eigen::VectorXd::Zero(d);
  s.y_sum = Eigen::VectorXd::Zero(m);
  // The rows' entries by attribute (CSC): row number and value.
  std::vector<int64_t> start(d + 1, 0);
  for (const int32_t r : rows) {
    for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      ++start[x.indices[k] + 1];
    }
    s.weight += w[r];
    s.y_sum += w[r] * y.row(r).transpose().cast<double>();
  }
  for (int32_t a = 0; a < d; ++a) start[a + 1] += start[a];
  std::vector<int32_t> col_row(start[d]);
  std::vector<float> col_value(start[d]);
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (const int32_t r : rows) {
    for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const int64_t at = fill[x.indices[k]]++;
      col_row[at] = r;
      col_value[at] = x.values[k];
    }
  }
  ParallelFor(
      d, threads,
      [&](int64_t begin, int64_t end, int32_t) {
        for (int64_t a = begin; a < end; ++a) {
          double* gram_col = s.gram.col(a).data();
          auto cross_row = s.cross.row(a);
          for (int64_t e = start[a]; e < start[a + 1]; ++e) {
            const int32_t r = col_row[e];
            const double wv = w[r] * static_cast<double>(col_value[e]);
            s.x_sum(a) += wv;
            for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
              gram_col[x.indices[k]] += wv * x.values[k];
            }
            cross_row += wv * y.row(r).cast<double>();
          }
        }
      },
      /*chunk=*/1);
  return s;
}

// The centred problem of `s`: Σ w (x - x̄)(x - x̄)ᵀ and Σ w (x - x̄)(y - ȳ)ᵀ,
// in place; x̄ and ȳ are returned.
void Centre(Moments* s, Eigen::VectorXd* x_mean, Eigen::VectorXd* y_mean) {
  *x_mean = s->x_sum / s->weight;
  *y_mean = s->y_sum / s->weight;
  s->gram.noalias() -= s->x_sum * x_mean->transpose();
  s->cross.noalias() -= s->x_sum * y_mean->transpose();
}

// The ridge weights (G + reg I)⁻¹ C of the centred sums `s`.
absl::StatusOr<RowMajorMatrixXd> Solve(const Moments& s, float reg) {
  const int64_t d = s.gram.rows();
  if (d == 0) return RowMajorMatrixXd(0, s.cross.cols());
  Eigen::MatrixXd a = s.gram;
  a.diagonal().array() += static_cast<double>(reg);
  const Eigen::LLT<Eigen::MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) {
    return absl::InternalError(absl::StrCat(
        "the Cholesky factorization of the attribute Gram matrix with reg ",
        reg, " failed"));
  }
  return RowMajorMatrixXd(llt.solve(Eigen::MatrixXd(s.cross)));
}

// Weights of the centred problem and the intercept row folded in.
FactorMatrix ToMap(const RowMajorMatrixXd& weights,
                   const Eigen::VectorXd& x_mean,
                   const Eigen::VectorXd& y_mean) {
  const int64_t d = weights.rows();
  FactorMatrix map(d + 1, weights.cols());
  map.topRows(d) = weights.cast<float>();
  map.row(d) =
      (y_mean.transpose() - x_mean.transpose() * weights).cast<float>();
  return map;
}

// Σ_r w_r ||y_r - map(x_r)||² / (Σ_r w_r · width) over `rows`.
double WeightedMse(const AttributeMap& map, const AttributeMatrix& x,
                   const Eigen::Ref<const FactorMatrix>& y,
                   const std::vector<int32_t>& rows,
                   const std::vector<double>& w) {
  std::vector<float> out(map.width());
  AttributeRow row;
  double sum = 0.0, weight = 0.0;
  for (const int32_t r : rows) {
    row.index.assign(x.indices.begin() + x.offsets[r],
                     x.indices.begin() + x.offsets[r + 1]);
    row.value.assign(x.values.begin() + x.offsets[r],
                     x.values.begin() + x.offsets[r + 1]);
    map.Apply(row, absl::MakeSpan(out));
    double err = 0.0;
    for (int32_t j = 0; j < map.width(); ++j) {
      const double e = static_cast<double>(y(r, j)) - out[j];
      err += e * e;
    }
    sum += w[r] * err;
    weight += w[r];
  }
  return weight > 0 ? sum / (weight * std::max(1, map.width())) : 0.0;
}

absl::Status Validate(const AttributeMatrix& x,
                      const Eigen::Ref<const FactorMatrix>& targets,
                      const AttributeMapOptions& options) {
  if (x.offsets.empty() || x.offsets[0] != 0 ||
      x.offsets.back() != static_cast<int64_t>(x.indices.size()) ||
      x.indices.size() != x.values.size() || x.num_attributes < 0) {
    return absl::InvalidArgumentError(
        "attribute matrix: offsets, indices and values disagree");
  }
  for (int32_t r = 0; r < x.rows(); ++r) {
    if (x.offsets[r + 1] < x.offsets[r] ||
        x.offsets[r + 1] > x.offsets.back()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute matrix: offsets are not ascending at row ", r));
    }
    for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      if (x.indices[k] < 0 || x.indices[k] >= x.num_attributes ||
          (k > x.offsets[r] && x.indices[k] <= x.indices[k - 1])) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attribute matrix: row ", r, " has index ", x.indices[k],
            ", not ascending in [0, ", x.num_attributes, ")"));
      }
      if (!std::isfinite(x.values[k])) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attribute matrix: row ", r, " has a value that is not finite"));
      }
    }
  }
  if (targets.rows() != x.rows()) {
    return absl::InvalidArgumentError(
        absl::StrCat("targets have ", targets.rows(),
                     " rows, the attribute matrix ", x.rows()));
  }
  if (targets.cols() < 1) {
    return absl::InvalidArgumentError("targets have no columns");
  }
  if (!targets.allFinite()) {
    return absl::InvalidArgumentError(
        "targets hold a value that is not finite");
  }
  if (options.reg_grid.empty()) {
    return absl::InvalidArgumentError("reg_grid is empty");
  }
  for (const float reg : options.reg_grid) {
    if (!(reg > 0) || !std::isfinite(reg)) {
      return absl::InvalidArgumentError(
          absl::StrCat("reg_grid holds ", reg, "; each must be > 0"));
    }
  }
  if (!(options.holdout_fraction > 0 && options.holdout_fraction < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "holdout_fraction must be in (0, 1), got ", options.holdout_fraction));
  }
  if (!options.row_weights.empty()) {
    if (options.row_weights.size() != static_cast<size_t>(x.rows())) {
      return absl::InvalidArgumentError(
          absl::StrCat("row_weights has ", options.row_weights.size(),
                       " values for ", x.rows(), " rows"));
    }
    for (const float w : options.row_weights) {
      if (!(w >= 0) || !std::isfinite(w)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "row_weights holds ", w, "; each must be finite and >= 0"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

void AttributeMatrix::Append(const AttributeRow& row) {
  assert(row.index.size() == row.value.size());
  indices.insert(indices.end(), row.index.begin(), row.index.end());
  values.insert(values.end(), row.value.begin(), row.value.end());
  offsets.push_back(static_cast<int64_t>(indices.size()));
}

void AttributeMap::Apply(const AttributeRow& row, absl::Span<float> out) const {
  if (weights.rows() == 0) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  assert(out.size() == static_cast<size_t>(width()));
  Eigen::Map<Eigen::RowVectorXf> o(out.data(), width());
  const int32_t d = num_attributes();
  o = weights.row(d);
  for (size_t k = 0; k < row.index.size() && k < row.value.size(); ++k) {
    const int32_t a = row.index[k];
    if (a >= 0 && a < d) o += row.value[k] * weights.row(a);
  }
}

absl::StatusOr<AttributeMapFit> FitAttributeMap(
    const AttributeMatrix& x, Eigen::Ref<const FactorMatrix> targets,
    const AttributeMapOptions& options) {
  if (absl::Status s = Validate(x, targets, options); !s.ok()) return s;
  const int32_t n = x.rows();
  const int32_t d = x.num_attributes;
  const int64_t m = targets.cols();
  const int32_t threads = ResolveThreads(options.threads);
  std::vector<double> w(n, 1.0);
  // Rows of weight 0 take no part at all, not even in the holdout draw.
  std::vector<int32_t> used;
  used.reserve(n);
  for (int32_t r = 0; r < n; ++r) {
    if (!options.row_weights.empty()) w[r] = options.row_weights[r];
    if (w[r] > 0) used.push_back(r);
  }
  if (used.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "need at least 2 rows of positive weight to fit an attribute map, "
        "got ",
        used.size()));
  }

  // A deterministic random holdout (partial Fisher-Yates over `used`).
  const int64_t count = static_cast<int64_t>(used.size());
  const int64_t held = std::clamp<int64_t>(
      std::llround(options.holdout_fraction * static_cast<double>(count)), 1,
      count - 1);
  RandomStream random(options.seed, 0x617474726d6170ull);  // "attrmap"
  std::vector<int32_t> order = used;
  for (int64_t i = 0; i < held; ++i) {
    std::swap(order[i], order[i + random.Below(count - i)]);
  }
  std::vector<int32_t> holdout(order.begin(), order.begin() + held);
  std::vector<int32_t> train(order.begin() + held, order.end());
  std::sort(holdout.begin(), holdout.end());
  std::sort(train.begin(), train.end());

  Moments train_sums = Accumulate(x, targets, train, w, threads);
  Moments all_sums = Accumulate(x, targets, holdout, w, threads);
  all_sums.Add(train_sums);

  AttributeMapFit fit;
  fit.holdout_rows = static_cast<int32_t>(held);
  if (train_sums.weight <= 0) {
    return absl::InvalidArgumentError("the training rows have no weight");
  }
  Eigen::VectorXd x_mean, y_mean;
  Centre(&train_sums, &x_mean, &y_mean);
  {
    AttributeMap mean_only;
    mean_only.weights = FactorMatrix::Zero(d + 1, m);
    mean_only.weights.row(d) = y_mean.transpose().cast<float>();
    fit.holdout_mse_of_mean = WeightedMse(mean_only, x, targets, holdout, w);
  }

  // One Cholesky factorization per reg, the candidates in parallel. (One
  // eigendecomposition for the whole grid would make each reg a matrix
  // product, but Eigen's symmetric eigensolver is unblocked: 44 s at
  // d = 2,500 where a Cholesky takes 0.3 s.)
  const int64_t grid = static_cast<int64_t>(options.reg_grid.size());
  fit.trials.resize(grid);
  std::vector<absl::Status> failed(grid);
  ParallelFor(
      grid, threads,
      [&](int64_t begin, int64_t end, int32_t) {
        for (int64_t g = begin; g < end; ++g) {
          const float reg = options.reg_grid[g];
          AttributeMap map;
          map.reg = reg;
          absl::StatusOr<RowMajorMatrixXd> weights = Solve(train_sums, reg);
          if (!weights.ok()) {
            failed[g] = weights.status();
            continue;
          }
          map.weights = ToMap(*weights, x_mean, y_mean);
          fit.trials[g] = {reg, WeightedMse(map, x, targets, holdout, w)};
        }
      },
      /*chunk=*/1);
  float best_reg = 0.0f;
  double best_mse = 0.0;
  for (int64_t g = 0; g < grid; ++g) {
    if (!failed[g].ok()) return failed[g];
    const AttributeMapTrial& t = fit.trials[g];
    if (g == 0 || t.holdout_mse < best_mse ||
        (t.holdout_mse == best_mse && t.reg > best_reg)) {
      best_mse = t.holdout_mse;
      best_reg = t.reg;
    }
  }

  // The refit on every row with the chosen reg.
  Centre(&all_sums, &x_mean, &y_mean);
  ASSIGN_OR_RETURN(const RowMajorMatrixXd weights, Solve(all_sums, best_reg));
  fit.map.weights = ToMap(weights, x_mean, y_mean);
  fit.map.reg = best_reg;
  return fit;
}

}  // namespace recserve
