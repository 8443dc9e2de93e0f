#include "client/request_pool.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/snapshot/snapshot.h"
#include "recserve/v1/recommender.pb.h"

namespace recserve::client {
namespace {

// Draws ranks in [0, size) uniformly or by Zipf, from a precomputed CDF.
class RankSampler {
 public:
  RankSampler(size_t size, IdDistribution distribution, double exponent)
      : size_(size) {
    if (distribution != IdDistribution::kZipf || size == 0) return;
    cdf_.resize(size);
    double total = 0.0;
    for (size_t r = 0; r < size; ++r) {
      total += std::pow(static_cast<double>(r + 1), -exponent);
      cdf_[r] = total;
    }
    for (double& c : cdf_) c /= total;
  }

  size_t Draw(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    if (cdf_.empty()) return static_cast<size_t>(unit(rng) * size_) % size_;
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), unit(rng));
    return std::min<size_t>(it - cdf_.begin(), size_ - 1);
  }

 private:
  size_t size_;
  std::vector<double> cdf_;
};

}  // namespace

const char* LoadMethodName(LoadMethod method) {
  switch (method) {
    case LoadMethod::kRecommend:
      return "Recommend";
    case LoadMethod::kSimilarItems:
      return "SimilarItems";
    case LoadMethod::kPredictRating:
      return "PredictRating";
    case LoadMethod::kHealth:
      return "Health";
  }
  return "?";
}

const char* LoadMethodPath(LoadMethod method) {
  switch (method) {
    case LoadMethod::kRecommend:
      return "/recserve.v1.Recommender/Recommend";
    case LoadMethod::kSimilarItems:
      return "/recserve.v1.Recommender/SimilarItems";
    case LoadMethod::kPredictRating:
      return "/recserve.v1.Recommender/PredictRating";
    case LoadMethod::kHealth:
      return "/grpc.health.v1.Health/Check";
  }
  return "";
}

absl::StatusOr<IdLists> LoadIdLists(const std::string& snapshot_dir) {
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded =
      Snapshot::LoadLatest(snapshot_dir);
  if (!loaded.ok()) return loaded.status();
  const Snapshot& s = **loaded;
  std::vector<int32_t> users(s.num_users()), items(s.num_items());
  std::iota(users.begin(), users.end(), 0);
  std::iota(items.begin(), items.end(), 0);
  std::stable_sort(users.begin(), users.end(), [&](int32_t a, int32_t b) {
    return s.SeenItems(a).size() > s.SeenItems(b).size();
  });
  const absl::Span<const int32_t> popularity = s.item_popularity();
  std::stable_sort(items.begin(), items.end(), [&](int32_t a, int32_t b) {
    return popularity[a] > popularity[b];
  });
  IdLists ids;
  ids.users.reserve(users.size());
  ids.items.reserve(items.size());
  for (const int32_t u : users) ids.users.emplace_back(s.UserId(u));
  for (const int32_t i : items) ids.items.emplace_back(s.ItemId(i));
  ids.rating_min = s.rating_scale().min;
  ids.rating_max = s.rating_scale().max;
  if (s.feedback() == Feedback::kImplicit) {
    std::set<std::string> events(s.events().negative.begin(),
                                 s.events().negative.end());
    for (const auto& [name, weight] : s.events().weights) events.insert(name);
    ids.events.assign(events.begin(), events.end());
  }
  return ids;
}

absl::StatusOr<std::vector<PreparedRequest>> BuildRequestPool(
    const IdLists& ids, const RequestPoolOptions& o) {
  double total = 0.0;
  for (const double w : o.weights) {
    if (w < 0.0 || !std::isfinite(w)) {
      return absl::InvalidArgumentError("method weights must be >= 0");
    }
    total += w;
  }
  if (total <= 0.0) {
    return absl::InvalidArgumentError("no method has a positive weight");
  }
  if (o.size < 1) {
    return absl::InvalidArgumentError("the request pool size must be >= 1");
  }
  if (!(o.personalized_share >= 0.0 && o.personalized_share <= 1.0)) {
    return absl::InvalidArgumentError(
        "the personalized share must be in [0, 1]");
  }
  if (o.recent_items < 0) {
    return absl::InvalidArgumentError("recent items must be >= 0");
  }
  if (o.personalized_share > 0 && o.recent_items == 0 &&
      o.filter_labels.empty()) {
    return absl::InvalidArgumentError(
        "personalized requests need recent items or filter labels");
  }
  if (o.personalized_share > 0 && o.recent_items > 0 && ids.items.empty()) {
    return absl::InvalidArgumentError(
        "recent interactions need item ids (--snapshot_dir)");
  }
  const auto weight = [&](LoadMethod m) {
    return o.weights[static_cast<int>(m)];
  };
  if ((weight(LoadMethod::kRecommend) > 0 ||
       weight(LoadMethod::kPredictRating) > 0) &&
      ids.users.empty()) {
    return absl::InvalidArgumentError(
        "Recommend and PredictRating need user ids (--snapshot_dir)");
  }
  if ((weight(LoadMethod::kSimilarItems) > 0 ||
       weight(LoadMethod::kPredictRating) > 0) &&
      ids.items.empty()) {
    return absl::InvalidArgumentError(
        "SimilarItems and PredictRating need item ids (--snapshot_dir)");
  }
  std::mt19937_64 rng(o.seed);
  std::discrete_distribution<int> pick(std::begin(o.weights),
                                       std::end(o.weights));
  const RankSampler users(ids.users.size(), o.distribution, o.zipf_exponent);
  const RankSampler items(ids.items.size(), o.distribution, o.zipf_exponent);
  std::bernoulli_distribution personalized(o.personalized_share);
  // Whole-number ratings on the scale; unrated when it is empty.
  std::uniform_int_distribution<int> rating(
      static_cast<int>(std::ceil(ids.rating_min)),
      std::max(static_cast<int>(std::ceil(ids.rating_min)),
               static_cast<int>(std::floor(ids.rating_max))));
  const std::vector<std::string>& events =
      o.recent_events.empty() ? ids.events : o.recent_events;
  const bool rated = events.empty() && ids.rating_max > ids.rating_min;
  std::uniform_int_distribution<size_t> event(
      0, events.empty() ? 0 : events.size() - 1);
  const auto add_recent = [&](auto* recent) {
    for (int32_t j = 0; j < o.recent_items; ++j) {
      v1::Interaction* r = recent->Add();
      r->set_item_id(ids.items[items.Draw(rng)]);
      if (rated) r->set_rating(rating(rng));
      if (!events.empty()) r->set_event(events[event(rng)]);
    }
  };
  const auto set_filter = [&](v1::ItemFilter* filter) {
    for (const std::string& label : o.filter_labels) {
      filter->add_include_labels(label);
    }
  };
  std::vector<PreparedRequest> pool;
  pool.reserve(o.size);
  for (int32_t i = 0; i < o.size; ++i) {
    PreparedRequest r{static_cast<LoadMethod>(pick(rng)), {}};
    // Drawn only when asked for, so that pools without personalization stay
    // what the same seed always gave.
    const bool personal = o.personalized_share > 0 &&
                          r.method != LoadMethod::kHealth && personalized(rng);
    switch (r.method) {
      case LoadMethod::kRecommend: {
        v1::RecommendRequest m;
        m.set_user_id(ids.users[users.Draw(rng)]);
        m.set_n(o.n);
        if (personal) {
          add_recent(m.mutable_recent());
          set_filter(m.mutable_filter());
        }
        r.payload = m.SerializeAsString();
        break;
      }
      case LoadMethod::kSimilarItems: {
        v1::SimilarItemsRequest m;
        m.set_item_id(ids.items[items.Draw(rng)]);
        m.set_k(o.k);
        if (personal) set_filter(m.mutable_filter());
        r.payload = m.SerializeAsString();
        break;
      }
      case LoadMethod::kPredictRating: {
        v1::PredictRatingRequest m;
        m.set_user_id(ids.users[users.Draw(rng)]);
        m.set_item_id(ids.items[items.Draw(rng)]);
        if (personal) add_recent(m.mutable_recent());
        r.payload = m.SerializeAsString();
        break;
      }
      case LoadMethod::kHealth:
        break;  // HealthCheckRequest{service: ""} is the empty message
    }
    pool.push_back(std::move(r));
  }
  return pool;
}

absl::Status ParseMix(absl::string_view mix,
                      double (&weights)[kNumLoadMethods]) {
  double parsed[kNumLoadMethods] = {0, 0, 0, 0};
  for (absl::string_view entry : absl::StrSplit(mix, ',', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    const std::string name =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(kv.first));
    int method = -1;
    if (name == "recommend") method = 0;
    if (name == "similar" || name == "similaritems") method = 1;
    if (name == "predict" || name == "predictrating") method = 2;
    if (name == "health") method = 3;
    double w = 0.0;
    if (method < 0 || !absl::SimpleAtod(kv.second, &w) || w < 0.0 ||
        !std::isfinite(w)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad mix entry \"", entry,
          "\": expected recommend|similar|predict|health=WEIGHT (>= 0)"));
    }
    parsed[method] = w;
  }
  std::copy(std::begin(parsed), std::end(parsed), std::begin(weights));
  return absl::OkStatus();
}

}  // namespace recserve::client
