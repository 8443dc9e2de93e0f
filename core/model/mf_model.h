#ifndef RECSERVE_CORE_MODEL_MF_MODEL_H_
#define RECSERVE_CORE_MODEL_MF_MODEL_H_

// The biased matrix-factorization rating model shared by the ALS and SGD
// trainers, the evaluator and the snapshot writer:
//   r̂(u, i) = clamp(μ + b_u + b_i + p_u · q_i)
// or, with an ordinal output, the expected rating of that score.

#include <Eigen/Core>
#include <cstdint>

#include "core/data/ratings.h"
#include "core/model/day_biases.h"
#include "core/model/ordinal_output.h"

namespace recserve {

// Row-major so that one user's or item's factors are contiguous, which is
// also the C-order layout written to .npy files.
using FactorMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A trained model over the dense indices of the training Dataset it came
// from (the Dataset owns the id maps). A plain value; const access is
// thread-safe.
struct MfModel {
  float global_mean = 0.0f;
  Eigen::VectorXf user_bias;  // num_users
  Eigen::VectorXf item_bias;  // num_items
  FactorMatrix user_factors;  // num_users x factors
  FactorMatrix item_factors;  // num_items x factors
  RatingScale scale;
  // Biases of the training data's days (day_biases.h); empty unless the
  // trainer fits them. Only ScoreAt and PredictAt use them.
  DayBiases day_biases;
  // The ordinal output (ordinal_output.h); when not empty, a score's rating
  // is its expected rating rather than the score clamped.
  OrdinalOutput ordinal;

  int32_t num_users() const { return static_cast<int32_t>(user_bias.size()); }
  int32_t num_items() const { return static_cast<int32_t>(item_bias.size()); }
  int32_t factors() const { return static_cast<int32_t>(item_factors.cols()); }

  // Unclamped score. An unknown side (kUnknownIndex) contributes neither bias
  // nor factors, so an unknown item scores μ + b_u and an unknown user μ + b_i.
  float Score(int32_t user, int32_t item) const {
    float s = global_mean;
    if (user != kUnknownIndex) s += user_bias[user];
    if (item != kUnknownIndex) s += item_bias[item];
    if (user != kUnknownIndex && item != kUnknownIndex) {
      s += user_factors.row(user).dot(item_factors.row(item));
    }
    return s;
  }
  // The rating a score stands for: clamped to the rating scale, or with an
  // ordinal output its expected rating.
  float Rate(float score) const { return RateScore(score, scale, ordinal); }
  // The rating prediction: Rate(Score).
  float Predict(int32_t user, int32_t item) const {
    return Rate(Score(user, item));
  }
  // Score and Predict for a rating made at `timestamp` (Unix seconds): with
  // the day biases of that day, when it is a day of the training data.
  float ScoreAt(int32_t user, int32_t item, int64_t timestamp) const {
    return Score(user, item) + day_biases.Offset(user, timestamp);
  }
  float PredictAt(int32_t user, int32_t item, int64_t timestamp) const {
    return Rate(ScoreAt(user, item, timestamp));
  }
};

// A model with the given shape: biases 0, factors drawn from
// N(0, init_stddev²) with the given seed (deterministic); all zeros when
// init_stddev is 0.
MfModel MakeInitialModel(int32_t num_users, int32_t num_items, int32_t factors,
                         float init_stddev, uint64_t seed);

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_MF_MODEL_H_
