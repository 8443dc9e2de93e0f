#include "core/train/day_bias_sampler.h"

#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace recserve {

DayBiasSampler::DayBiasSampler(absl::Span<const Rating> fit)
    : offsets_(fit.size(), 0.0f) {
  absl::flat_hash_map<int64_t, int32_t> day_index;
  absl::flat_hash_map<std::pair<int32_t, int64_t>, int32_t> user_day_index;
  day_.of_rating.reserve(fit.size());
  user_day_.of_rating.reserve(fit.size());
  for (const Rating& r : fit) {
    const int64_t d = DayOf(r.timestamp);
    auto [day_it, new_day] =
        day_index.try_emplace(d, static_cast<int32_t>(days_.size()));
    if (new_day) days_.push_back(d);
    day_.of_rating.push_back(day_it->second);
    auto [ud_it, new_ud] = user_day_index.try_emplace(
        std::make_pair(r.user, d), static_cast<int32_t>(user_days_.size()));
    if (new_ud) user_days_.emplace_back(r.user, d);
    user_day_.of_rating.push_back(ud_it->second);
  }
  for (Group* g : {&day_, &user_day_}) {
    const size_t n = g == &day_ ? days_.size() : user_days_.size();
    g->bias.assign(n, 0.0f);
    g->sum.assign(n, 0.0f);
    g->count.assign(n, 0);
    for (int32_t index : g->of_rating) ++g->count[index];
  }
}

void DayBiasSampler::SampleGroup(Group& g, float noise_precision,
                                 std::mt19937_64& rng,
                                 std::vector<float>* residuals) {
  // The precision given the current biases: Gamma(1 + n/2, 1 + Σb²/2).
  double sum_sq = 0.0;
  for (float b : g.bias) sum_sq += double{b} * b;
  std::gamma_distribution<double> gamma(1.0 + g.bias.size() / 2.0,
                                        1.0 / (1.0 + sum_sq / 2.0));
  g.precision = static_cast<float>(gamma(rng));
  // Each bias given its ratings' residuals with its own part added back.
  std::vector<double> target(g.bias.size(), 0.0);
  for (size_t r = 0; r < g.of_rating.size(); ++r)
    target[g.of_rating[r]] += (*residuals)[r];
  std::normal_distribution<double> normal;
  std::vector<float> delta(g.bias.size());
  for (size_t i = 0; i < g.bias.size(); ++i) {
    const double precision = g.precision + double{noise_precision} * g.count[i];
    const double mean = noise_precision *
                        (target[i] + double{g.bias[i]} * g.count[i]) /
                        precision;
    const float drawn =
        static_cast<float>(mean + normal(rng) / std::sqrt(precision));
    delta[i] = drawn - g.bias[i];
    g.bias[i] = drawn;
  }
  for (size_t r = 0; r < g.of_rating.size(); ++r) {
    (*residuals)[r] -= delta[g.of_rating[r]];
    offsets_[r] += delta[g.of_rating[r]];
  }
}

void DayBiasSampler::Sample(float noise_precision, std::mt19937_64& rng,
                            std::vector<float>* residuals) {
  SampleGroup(day_, noise_precision, rng, residuals);
  SampleGroup(user_day_, noise_precision, rng, residuals);
}

void DayBiasSampler::Accumulate() {
  for (Group* g : {&day_, &user_day_}) {
    for (size_t i = 0; i < g->bias.size(); ++i) g->sum[i] += g->bias[i];
  }
  ++accumulated_;
}

DayBiases DayBiasSampler::Mean() const {
  DayBiases mean;
  const float inv = accumulated_ > 0 ? 1.0f / accumulated_ : 0.0f;
  for (size_t i = 0; i < days_.size(); ++i)
    mean.day[days_[i]] = day_.sum[i] * inv;
  for (size_t i = 0; i < user_days_.size(); ++i)
    mean.user_day[user_days_[i]] = user_day_.sum[i] * inv;
  return mean;
}

void DayBiasSampler::PublishMean(MfModel* model) const {
  DayBiases& out = model->day_biases;
  out = Mean();
  // Each user's level: the mean over the user's ratings of the day biases
  // they got (the day's and the user's own on that day).
  absl::flat_hash_map<int32_t, std::pair<double, int64_t>> level;
  for (size_t i = 0; i < user_days_.size(); ++i) {
    const auto& [user, day] = user_days_[i];
    auto& [sum, count] = level[user];
    sum += double{out.day.at(day) + out.user_day.at(user_days_[i])} *
           user_day_.count[i];
    count += user_day_.count[i];
  }
  for (size_t i = 0; i < user_days_.size(); ++i) {
    const auto& [sum, count] = level.at(user_days_[i].first);
    out.user_day[user_days_[i]] -= static_cast<float>(sum / count);
  }
  for (const auto& [user, sum_count] : level) {
    model->user_bias[user] +=
        static_cast<float>(sum_count.first / sum_count.second);
  }
}

}  // namespace recserve
