#ifndef RECSERVE_CORE_MODEL_ITEM_SCORER_H_
#define RECSERVE_CORE_MODEL_ITEM_SCORER_H_

// Scores the whole item catalog for one user: the interface top-N evaluation
// and two-stage ranking build on, plus the matrix-factorization, embedding
// (retrieval) and most-popular scorers.

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/mf_model.h"

namespace recserve {

// Scores every item of a catalog of num_items() items, indexed like the
// training Dataset's item map. Implementations are immutable after
// construction, so ScoreItems may be called concurrently from any thread.
class ItemScorer {
 public:
  virtual ~ItemScorer() = default;

  // The catalog size: items are 0 .. num_items() - 1.
  virtual int32_t num_items() const = 0;

  // Writes the score of every item for `user` into `scores`, whose size must
  // be num_items(); a higher score means a better recommendation. `user` is a
  // training user index or kUnknownIndex (a user the model has not seen).
  virtual void ScoreItems(int32_t user, absl::Span<float> scores) const = 0;
};

// Scores with a matrix-factorization model: μ + b_u + b_i + p_u · q_i,
// unclamped (clamping would create ties at the top of the scale). An unknown
// user scores μ + b_i (MfModel::Score). Borrows `model`, which must outlive
// the scorer.
class MfScorer final : public ItemScorer {
 public:
  explicit MfScorer(const MfModel& model) : model_(model) {}

  int32_t num_items() const override { return model_.num_items(); }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  const MfModel& model_;
};

// Scores with embeddings: user_factors.row(u) · item_factors.row(i), the
// retrieval score of the implicit-feedback model. An unknown user scores 0
// everywhere. Borrows both matrices, which must outlive the scorer.
class EmbeddingScorer final : public ItemScorer {
 public:
  EmbeddingScorer(const FactorMatrix& user_factors,
                  const FactorMatrix& item_factors)
      : users_(user_factors), items_(item_factors) {}
  int32_t num_items() const override {
    return static_cast<int32_t>(items_.rows());
  }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  const FactorMatrix& users_;
  const FactorMatrix& items_;
};

// Another scorer's scores, remembered per thread for the last user asked:
// asking again for the same user on the same thread copies them instead of
// scoring again (several two-stage rankings sharing one retrieval stage,
// evaluated user by user: topn_evaluation.h). Borrows `inner`, which must
// outlive it. ScoreItems may be called from any thread; each thread keeps
// the last scores any memoized scorer computed on it (num_items() floats)
// for the rest of its life. Memoized scorers nested in one another are
// correct but score again every time.
class MemoizedScorer final : public ItemScorer {
 public:
  explicit MemoizedScorer(const ItemScorer& inner);
  int32_t num_items() const override { return inner_.num_items(); }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  const ItemScorer& inner_;
  // Tells this scorer's entries from those of one destroyed before it at
  // the same address.
  const uint64_t generation_;
};

// A fixed score per item, the same for every user (e.g. a baseline that
// knows no user). Owns the scores.
class FixedScorer final : public ItemScorer {
 public:
  explicit FixedScorer(std::vector<float> scores)
      : scores_(std::move(scores)) {}
  int32_t num_items() const override {
    return static_cast<int32_t>(scores_.size());
  }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  std::vector<float> scores_;
};

// Most-popular baseline: an item's score is its number of training ratings
// (positive interactions: negative ones are not counted), the same for every
// user. Copies the counts; `train` need not outlive it.
class PopularityScorer final : public ItemScorer {
 public:
  explicit PopularityScorer(const Dataset& train);

  int32_t num_items() const override {
    return static_cast<int32_t>(counts_.size());
  }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  std::vector<float> counts_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_ITEM_SCORER_H_
