#include "core/model/mf_model.h"

#include <random>

namespace recserve {

MfModel MakeInitialModel(int32_t num_users, int32_t num_items, int32_t factors,
                         float init_stddev, uint64_t seed) {
  MfModel model;
  model.user_bias = Eigen::VectorXf::Zero(num_users);
  model.item_bias = Eigen::VectorXf::Zero(num_items);
  model.user_factors.resize(num_users, factors);
  model.item_factors.resize(num_items, factors);
  if (!(init_stddev > 0)) {
    // std::normal_distribution requires σ > 0.
    model.user_factors.setZero();
    model.item_factors.setZero();
    return model;
  }
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, init_stddev);
  for (Eigen::Index i = 0; i < model.user_factors.size(); ++i) {
    model.user_factors.data()[i] = normal(rng);
  }
  for (Eigen::Index i = 0; i < model.item_factors.size(); ++i) {
    model.item_factors.data()[i] = normal(rng);
  }
  return model;
}

}  // namespace recserve
