#include "core/train/retrieval_tuning.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/data/sparse_ratings.h"
#include "core/data/user_sample.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/item_scorer.h"

namespace recserve {
namespace {

absl::Status CheckOptions(const RetrievalTuningOptions& o) {
  if (!(o.holdout_fraction > 0 && o.holdout_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval tuning: holdout_fraction must be in (0, 1), "
                     "got ",
                     o.holdout_fraction));
  }
  const auto positive = [](absl::string_view name,
                           const std::vector<float>& grid) -> absl::Status {
    for (const float v : grid) {
      if (!(v > 0) || !std::isfinite(v)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "retrieval tuning: ", name, " values must be > 0, got ", v));
      }
    }
    return absl::OkStatus();
  };
  if (o.rounds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval tuning: rounds must be >= 1, got ", o.rounds));
  }
  RETURN_IF_ERROR(positive("epsilon_grid", o.epsilon_grid));
  RETURN_IF_ERROR(positive("unobserved_weight_grid", o.unobserved_weight_grid));
  RETURN_IF_ERROR(positive("reg_grid", o.reg_grid));
  for (const float v : o.alpha_grid) {
    if (!(v >= 0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retrieval tuning: alpha_grid values must be >= 0, got ", v));
    }
  }
  for (const float v : o.reg_exponent_grid) {
    if (!(v >= 0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retrieval tuning: reg_exponent_grid values must be >= 0, got ", v));
    }
  }
  for (const int32_t v : o.factor_grid) {
    if (v < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retrieval tuning: factor_grid values must be >= 1, got ", v));
    }
  }
  return absl::OkStatus();
}

// Whether positive strengths differ at all: when they do not, the scale
// and epsilon only rename alpha.
bool StrengthsVary(const std::vector<Rating>& ratings) {
  bool any = false;
  float first = 0;
  for (const Rating& r : ratings) {
    if (r.value < 0) continue;
    if (!any) {
      first = r.value;
      any = true;
    } else if (r.value != first) {
      return true;
    }
  }
  return false;
}

// The median strength of the positive interactions (0 without any).
float MedianPositiveStrength(const std::vector<Rating>& ratings) {
  std::vector<float> strengths;
  for (const Rating& r : ratings) {
    if (r.value >= 0) strengths.push_back(r.value);
  }
  if (strengths.empty()) return 0.0f;
  auto middle = strengths.begin() + strengths.size() / 2;
  std::nth_element(strengths.begin(), middle, strengths.end());
  return *middle;
}

// One coordinate: its name, the grid as doubles, and how a value is set.
struct Coordinate {
  std::string name;
  // Whether the grid is ordered (searched by walking from the current
  // value) or a set of alternatives (each tried).
  bool ordered = true;
  std::vector<double> grid;
  std::function<void(ImplicitAlsOptions*, double)> set;
  std::function<double(const ImplicitAlsOptions&)> get;
};

}  // namespace

TrainTest HoldOutPerUser(const Dataset& data, double fraction, uint64_t seed) {
  TrainTest split;
  split.train.users = data.users;
  split.train.items = data.items;
  const SparseRatings by_user =
      GroupRatings(data.ratings, data.num_users(), RatingAxis::kUser);
  // Which input positions are held out, per user in input order.
  std::vector<char> held(data.ratings.size(), 0);
  std::vector<int64_t> positions;
  for (int32_t u = 0; u < data.num_users(); ++u) {
    positions.clear();
    for (int64_t e = by_user.offsets[u]; e < by_user.offsets[u + 1]; ++e) {
      if (by_user.values[e] >= 0) positions.push_back(e);
    }
    const int64_t n = static_cast<int64_t>(positions.size());
    if (n < 2) continue;
    const int64_t take = std::clamp<int64_t>(
        std::llround(fraction * static_cast<double>(n)), 1, n - 1);
    // Per-user stream: the choice does not depend on other users.
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull +
                        static_cast<uint64_t>(u));
    for (int64_t j = 0; j < take; ++j) {
      std::uniform_int_distribution<int64_t> pick(j, n - 1);
      std::swap(positions[j], positions[pick(rng)]);
      held[positions[j]] = 1;
    }
  }
  // Grouped positions back to input order: GroupRatings is stable, so the
  // e-th grouped entry of user u is that user's e-th rating in input order.
  std::vector<int64_t> next(data.num_users(), 0);
  for (const Rating& r : data.ratings) {
    const int64_t e = by_user.offsets[r.user] + next[r.user]++;
    (held[e] ? split.test : split.train.ratings).push_back(r);
  }
  return split;
}

absl::StatusOr<RetrievalTuningResult> TuneRetrieval(
    const Dataset& data, const ImplicitAlsOptions& start,
    const RetrievalTuningOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  const auto began = std::chrono::steady_clock::now();
  Dataset sample;
  const Dataset* source = &data;
  if (options.validation_sample > 0 &&
      static_cast<int64_t>(data.ratings.size()) > options.validation_sample) {
    sample.users = data.users;
    sample.items = data.items;
    sample.ratings = SampleUsers(
        data.ratings,
        static_cast<double>(options.validation_sample) / data.ratings.size(),
        options.seed + 11);
    source = &sample;
  }
  const TrainTest split =
      HoldOutPerUser(*source, options.holdout_fraction, options.seed);
  RetrievalTuningResult result;
  result.options = start;
  if (split.test.empty()) {
    // Nothing to validate on: the start, untried.
    result.seconds = SecondsSince(began);
    return result;
  }
  const Dataset& fit = split.train;
  TopNOptions topn;
  topn.k = options.k;
  topn.relevance_threshold = 0.0f;
  topn.loo_negatives = 0;
  topn.seed = options.seed;
  topn.threads = options.threads;
  topn.max_users = options.max_users;

  result.options.threads = options.threads;
  {
    const PopularityScorer popularity(fit);
    const TopNMetrics m = EvaluateTopN(popularity, fit, split.test, topn);
    result.popularity_recall = m.recall;
    result.validation_users = m.users;
  }
  double last_seconds = 0;
  int32_t last_factors = start.factors;
  // Trains and scores `o`; false (with nothing run) when the budget says no.
  const auto trial = [&](const std::string& setting, double value,
                         const ImplicitAlsOptions& o,
                         RetrievalTrial* out) -> absl::StatusOr<bool> {
    if (options.seconds > 0 && !result.trials.empty()) {
      const double ratio =
          static_cast<double>(o.factors) / std::max(1, last_factors);
      const double estimate = last_seconds * std::max(1.0, ratio * ratio);
      if (SecondsSince(began) + estimate > options.seconds) {
        result.out_of_time = true;
        return false;
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(
        RetrievalModel model,
        TrainImplicitAls(fit.num_users(), fit.num_items(), fit.ratings, o));
    const EmbeddingScorer scorer(model.user_factors, model.item_factors);
    const TopNMetrics m = EvaluateTopN(scorer, fit, split.test, topn);
    *out = {setting, value, m.recall, m.ndcg, SecondsSince(t0)};
    result.trials.push_back(*out);
    last_seconds = out->seconds;
    last_factors = o.factors;
    return true;
  };

  RetrievalTrial best;
  ASSIGN_OR_RETURN(const bool ran, trial("start", 0, result.options, &best));
  (void)ran;

  const bool vary = StrengthsVary(fit.ratings);
  const float median_strength = MedianPositiveStrength(fit.ratings);
  const int32_t max_factors =
      std::max(1, std::min(fit.num_users(), fit.num_items()) / 4);
  const auto floats = [](const std::vector<float>& g) {
    return std::vector<double>(g.begin(), g.end());
  };
  std::vector<Coordinate> coordinates;
  coordinates.push_back(
      {"reg", true, floats(options.reg_grid),
       [](ImplicitAlsOptions* o, double v) { o->reg = v; },
       [](const ImplicitAlsOptions& o) { return double{o.reg}; }});
  if (vary) {
    Coordinate c{"scale", false, {}, nullptr, nullptr};
    for (const ConfidenceScale s : options.scale_grid) {
      c.grid.push_back(s == ConfidenceScale::kLog ? 1.0 : 0.0);
    }
    c.set = [](ImplicitAlsOptions* o, double v) {
      o->confidence_scale =
          v != 0 ? ConfidenceScale::kLog : ConfidenceScale::kLinear;
    };
    c.get = [](const ImplicitAlsOptions& o) {
      return o.confidence_scale == ConfidenceScale::kLog ? 1.0 : 0.0;
    };
    coordinates.push_back(std::move(c));
  }
  coordinates.push_back(
      {"alpha", true, floats(options.alpha_grid),
       [](ImplicitAlsOptions* o, double v) { o->alpha = v; },
       [](const ImplicitAlsOptions& o) { return double{o.alpha}; }});
  if (vary) {
    coordinates.push_back(
        {"epsilon", true, floats(options.epsilon_grid),
         [](ImplicitAlsOptions* o, double v) { o->epsilon = v; },
         [](const ImplicitAlsOptions& o) { return double{o.epsilon}; }});
  }
  coordinates.push_back(
      {"unobserved_weight", true, floats(options.unobserved_weight_grid),
       [](ImplicitAlsOptions* o, double v) { o->unobserved_weight = v; },
       [](const ImplicitAlsOptions& o) {
         return double{o.unobserved_weight};
       }});
  coordinates.push_back(
      {"reg_exponent", false, floats(options.reg_exponent_grid),
       [](ImplicitAlsOptions* o, double v) { o->reg_exponent = v; },
       [](const ImplicitAlsOptions& o) { return double{o.reg_exponent}; }});
  {
    Coordinate c{"factors", true, {}, nullptr, nullptr};
    for (const int32_t f : options.factor_grid) {
      if (f <= max_factors) c.grid.push_back(f);
    }
    c.set = [](ImplicitAlsOptions* o, double v) {
      o->factors = static_cast<int32_t>(v);
    };
    c.get = [](const ImplicitAlsOptions& o) {
      return static_cast<double>(o.factors);
    };
    coordinates.push_back(std::move(c));
  }

  // Measured options, so that a later round does not train them again.
  std::map<std::string, double> measured;
  const auto key = [](const ImplicitAlsOptions& o) {
    return absl::StrCat(o.factors, "/", static_cast<int>(o.confidence_scale),
                        "/", o.alpha, "/", o.epsilon, "/", o.unobserved_weight,
                        "/", o.reg, "/", o.reg_exponent);
  };
  measured[key(result.options)] = best.recall;
  bool stop = false;
  // Tries `v` for coordinate `c`; true when it became the current value.
  const auto attempt = [&](const Coordinate& c,
                           double v) -> absl::StatusOr<bool> {
    ImplicitAlsOptions candidate = result.options;
    c.set(&candidate, v);
    if (c.name == "scale" &&
        candidate.confidence_scale != result.options.confidence_scale) {
      // The scales' alphas are on different footings: start the other
      // scale where it gives the median strength the same confidence, for
      // alpha's own search to refine.
      const double now =
          Confidence(result.options.confidence(), median_strength) - 1.0;
      const double unit =
          Confidence({candidate.confidence_scale, 1.0f, candidate.epsilon},
                     median_strength) -
          1.0;
      if (now > 0 && unit > 0) candidate.alpha = now / unit;
    }
    const std::string k = key(candidate);
    if (measured.count(k)) return false;
    RetrievalTrial t;
    ASSIGN_OR_RETURN(const bool done, trial(c.name, v, candidate, &t));
    if (!done) {
      stop = true;
      return false;
    }
    measured[k] = t.recall;
    if (t.recall > best.recall * (1.0 + options.min_gain)) {
      best = t;
      result.options = candidate;
      return true;
    }
    return false;
  };
  for (int32_t round = 0; round < options.rounds && !stop; ++round) {
    const ImplicitAlsOptions before = result.options;
    for (const Coordinate& c : coordinates) {
      if (stop) break;
      // epsilon means nothing on the linear scale.
      if (c.name == "epsilon" &&
          result.options.confidence_scale != ConfidenceScale::kLog) {
        continue;
      }
      std::vector<double> grid = c.grid;
      std::sort(grid.begin(), grid.end());
      grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
      const double current = c.get(result.options);
      if (!c.ordered) {
        for (const double v : grid) {
          if (stop) break;
          if (v == current) continue;
          RETURN_IF_ERROR(attempt(c, v).status());
        }
        continue;
      }
      // An ordered setting: walk up the grid from the current value while
      // each step improves, then down if going up did not (the recall is
      // about unimodal in each of them), so a grid costs few trials.
      bool moved_up = false;
      for (const double v : grid) {
        if (stop || v <= current) continue;
        ASSIGN_OR_RETURN(const bool better, attempt(c, v));
        if (!better) break;
        moved_up = true;
      }
      if (moved_up || c.name == "factors") continue;
      for (auto it = grid.rbegin(); it != grid.rend() && !stop; ++it) {
        if (*it >= current) continue;
        ASSIGN_OR_RETURN(const bool better, attempt(c, *it));
        if (!better) break;
      }
    }
    if (key(before) == key(result.options)) break;  // a fixed point
  }
  result.options.threads = start.threads;
  result.recall = best.recall;
  result.ndcg = best.ndcg;
  result.seconds = SecondsSince(began);
  return result;
}

}  // namespace recserve
