#include "core/serve/serving_model.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/base/top_k.h"
#include "core/model/two_stage_ranker.h"
#include "core/serve/cold_slots.h"
#include "core/serve/item_filter.h"
#include "core/serve/removed_items.h"
#include "core/serve/request_checks.h"

namespace recserve {
namespace {

absl::Status CheckIndex(const char* name, const ItemIndex* index,
                        IndexSpace space,
                        const Eigen::Map<const FactorMatrix>& vectors) {
  if (index == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(name, " index is missing"));
  }
  if (index->space() != space || index->size() != vectors.rows() ||
      index->dimensions() != vectors.cols()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " index (", IndexSpaceName(index->space()), ", ",
                     index->size(), " items x ", index->dimensions(),
                     ") does not match the snapshot (", IndexSpaceName(space),
                     ", ", vectors.rows(), " items x ", vectors.cols(), ")"));
  }
  return absl::OkStatus();
}

// Marks the cold items of `out` and counts them.
void MarkCold(const Snapshot& s, Recommendation* out) {
  out->cold_returned = 0;
  for (RecommendedItem& r : out->items) {
    r.cold = s.IsColdItem(r.item);
    out->cold_returned += r.cold ? 1 : 0;
  }
}

// `pool` with the items of `cold` it lacks appended.
std::vector<ScoredItem> WithColdItems(std::vector<ScoredItem> pool,
                                      const std::vector<ScoredItem>& cold,
                                      int32_t first_cold) {
  absl::flat_hash_set<int32_t> present;
  for (const ScoredItem& c : pool) {
    if (c.item >= first_cold) present.insert(c.item);
  }
  for (const ScoredItem& c : cold) {
    if (present.insert(c.item).second) pool.push_back(c);
  }
  return pool;
}

}  // namespace

const char* RetrievalPathName(RetrievalPath path) {
  switch (path) {
    case RetrievalPath::kNone:
      return "none";
    case RetrievalPath::kExact:
      return "exact";
    case RetrievalPath::kNormScan:
      return "norm_scan";
    case RetrievalPath::kHnswMerge:
      return "hnsw";
    case RetrievalPath::kAllowedScan:
      return "allowed_scan";
    case RetrievalPath::kLabelScan:
      return "label_scan";
    case RetrievalPath::kItemItem:
      return "item_item";
  }
  return "unknown";
}

Eigen::Map<const FactorMatrix> ItemVectorsOf(const Snapshot& snapshot) {
  return snapshot.has_retrieval() ? snapshot.item_embeddings()
                                  : snapshot.item_factors();
}

Eigen::Map<const FactorMatrix> ServingModel::item_vectors() const {
  return ItemVectorsOf(*snapshot_);
}

Eigen::Map<const FactorMatrix> ServingModel::user_vectors() const {
  return snapshot_->has_retrieval() ? snapshot_->user_embeddings()
                                    : snapshot_->user_factors();
}

absl::StatusOr<std::shared_ptr<const ServingModel>> ServingModel::Create(
    std::shared_ptr<const Snapshot> snapshot,
    std::unique_ptr<ItemIndex> retrieval, std::unique_ptr<ItemIndex> similarity,
    std::string checksum, int32_t norm_scan_items) {
  if (snapshot == nullptr) {
    return absl::InvalidArgumentError("no snapshot");
  }
  const Eigen::Map<const FactorMatrix> vectors = ItemVectorsOf(*snapshot);
  RETURN_IF_ERROR(CheckIndex("retrieval", retrieval.get(),
                             IndexSpace::kInnerProduct, vectors));
  RETURN_IF_ERROR(
      CheckIndex("similarity", similarity.get(), IndexSpace::kCosine, vectors));
  std::shared_ptr<ServingModel> model(new ServingModel());
  const absl::Span<const int32_t> popularity = snapshot->item_popularity();
  model->by_popularity_.resize(popularity.size());
  std::iota(model->by_popularity_.begin(), model->by_popularity_.end(), 0);
  std::sort(model->by_popularity_.begin(), model->by_popularity_.end(),
            [&](int32_t a, int32_t b) {
              return RanksAhead(popularity[a], a, popularity[b], b);
            });
  model->norm_scan_ =
      std::make_unique<NormOrderedScan>(vectors, norm_scan_items);
  if (snapshot->num_labels() > 0) {
    std::vector<std::vector<int32_t>> lists(snapshot->num_labels());
    for (int32_t item = 0; item < snapshot->num_items(); ++item) {
      for (const int32_t label : snapshot->ItemLabels(item)) {
        lists[label].push_back(item);
      }
    }
    model->label_lists_ = std::make_unique<NormOrderedLists>(
        vectors, std::move(lists), norm_scan_items);
  }
  if (snapshot->fold_in() != nullptr && snapshot->has_retrieval()) {
    model->fold_in_ =
        snapshot->has_rating_model()
            ? std::make_unique<UserFoldIn>(
                  snapshot->item_factors(), snapshot->item_bias(),
                  snapshot->global_mean(), snapshot->item_embeddings(),
                  *snapshot->fold_in())
            : std::make_unique<UserFoldIn>(snapshot->item_embeddings(),
                                           *snapshot->fold_in());
  }
  model->snapshot_ = std::move(snapshot);
  model->retrieval_ = std::move(retrieval);
  model->similarity_ = std::move(similarity);
  model->checksum_ = std::move(checksum);
  model->created_at_ = absl::Now();
  return std::shared_ptr<const ServingModel>(std::move(model));
}

// The user vectors one request ranks with. Spans point into the snapshot or
// into `folded`, so this must not be copied once set.
struct ServingModel::UserSide {
  bool known = false;  // in the snapshot
  int32_t user = kUnknownIndex;
  bool folded = false;       // computed from recent interactions
  bool has_vectors = false;  // known or folded
  FoldedInUser folded_user;
  absl::Span<const float> retrieval;
  absl::Span<const float> factors;
  float bias = 0.0f;
  // The interactions the vectors come from (training and recent), when
  // asked for and the snapshot can fold in.
  std::vector<UserInteraction> interactions;
  std::vector<int32_t> recent_items;  // the known recent items
  // Their ratings (0 = unrated; implicit feedback: signed values), aligned.
  std::vector<float> recent_values;

  UserSide() = default;
  UserSide(const UserSide&) = delete;
  UserSide& operator=(const UserSide&) = delete;

  // The rating model's unclamped score μ + b_u + b_i + p_u·q_i; without
  // vectors, μ + b_i (kUnknownIndex items: no item terms).
  float Score(const Snapshot& s, int32_t item) const {
    if (!folded) return s.Score(known ? user : kUnknownIndex, item);
    float score = s.global_mean() + bias;
    if (item != kUnknownIndex) {
      score += s.item_bias()[item];
      score += Eigen::Map<const Eigen::RowVectorXf>(
                   factors.data(), static_cast<Eigen::Index>(factors.size()))
                   .dot(s.item_factors().row(item));
    }
    return score;
  }
};

absl::Status ServingModel::ResolveUser(
    int32_t user, const std::vector<RecentInteraction>& recent,
    bool keep_interactions, UserSide* side, int32_t* recent_unknown) const {
  const Snapshot& s = *snapshot_;
  side->known = user != kUnknownIndex;
  side->user = user;
  if (!recent.empty() && fold_in_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "recent interactions need a model that records how to fold users in; "
        "snapshot ",
        s.version(), " (format ", s.manifest().format_version,
        ") does not: retrain it with this version of the trainer"));
  }
  std::vector<UserInteraction> interactions;
  const bool implicit = !s.has_rating_model();
  const bool training_items = fold_in_ != nullptr && side->known &&
                              (keep_interactions || !recent.empty());
  // Times for recency weighting (UserInteraction::time): a training
  // interaction's is minus its later count, which orders the user's
  // training interactions as they happened (all 0, tied, when the snapshot
  // records no order); recent ones follow, oldest first, at their position
  // in the request plus 1, after every training one. A training cell's rank
  // is then its later count plus the recent interactions.
  if (training_items) {
    const absl::Span<const int32_t> seen = s.SeenItems(user);
    const absl::Span<const float> ratings = s.SeenRatings(user);
    const absl::Span<const int32_t> later = s.SeenLater(user);
    interactions.reserve(seen.size() + recent.size());
    for (size_t j = 0; j < seen.size(); ++j) {
      UserInteraction x =
          implicit ? UserInteraction{.item = seen[j], .value = ratings[j]}
                   : UserInteraction{seen[j], ratings[j], 1.0f};
      x.time = later.empty() ? 0 : -int64_t{later[j]};
      interactions.push_back(x);
    }
  }
  const EventWeights& events = s.events();
  for (size_t position = 0; position < recent.size(); ++position) {
    const RecentInteraction& x = recent[position];
    const int64_t time = static_cast<int64_t>(position) + 1;
    const int32_t item = s.FindItem(x.item_id);
    if (item == kUnknownIndex) {
      ++*recent_unknown;
      continue;
    }
    side->recent_items.push_back(item);
    side->recent_values.push_back(static_cast<float>(x.rating));
    const float weight = x.weight == 0.0 ? 1.0f : static_cast<float>(x.weight);
    if (implicit) {
      // Checked: the event is "" or a type the snapshot knows.
      const auto it = events.weights.find(x.event);
      const float strength =
          (it == events.weights.end() ? 1.0f : it->second) * weight;
      const bool negative = events.negative.count(x.event) > 0;
      side->recent_values.back() = negative ? -strength : strength;
      interactions.push_back({.item = item,
                              .value = negative ? -strength : strength,
                              .time = time});
    } else {
      interactions.push_back({.item = item,
                              .rating = static_cast<float>(x.rating),
                              .weight = weight,
                              .time = time});
    }
  }
  if (!side->recent_items.empty()) {
    side->folded_user = fold_in_->FoldIn(interactions);
    side->folded = true;
    side->has_vectors = true;
    const FoldedInUser& f = side->folded_user;
    side->retrieval =
        absl::MakeConstSpan(f.embedding.data(), f.embedding.size());
    side->factors = absl::MakeConstSpan(f.factors.data(), f.factors.size());
    side->bias = f.bias;
  } else if (side->known) {
    side->has_vectors = true;
    const Eigen::Map<const FactorMatrix> users = user_vectors();
    side->retrieval = absl::MakeConstSpan(users.row(user).data(), users.cols());
    if (s.has_rating_model()) {
      side->factors =
          absl::MakeConstSpan(s.user_factors().row(user).data(), s.factors());
      side->bias = s.user_bias()[user];
    }
  }
  if (keep_interactions && fold_in_ != nullptr) {
    side->interactions = std::move(interactions);
  }
  return absl::OkStatus();
}

WeightedHistory ServingModel::ItemItemHistory(const UserSide& side) const {
  const Snapshot& s = *snapshot_;
  // Times as ResolveUser gives them: a training item's is minus its later
  // count, the recent ones follow at their position plus 1.
  std::vector<int32_t> items;
  std::vector<int64_t> times;
  if (side.known) {
    const absl::Span<const int32_t> seen = s.SeenItems(side.user);
    const absl::Span<const float> values = s.SeenRatings(side.user);
    const absl::Span<const int32_t> later = s.SeenLater(side.user);
    items.reserve(seen.size() + side.recent_items.size());
    times.reserve(items.capacity());
    for (size_t j = 0; j < seen.size(); ++j) {
      if (!values.empty() && values[j] < 0) continue;
      items.push_back(seen[j]);
      times.push_back(later.empty() ? 0 : -int64_t{later[j]});
    }
  }
  for (size_t k = 0; k < side.recent_items.size(); ++k) {
    if (side.recent_values[k] < 0) continue;
    items.push_back(side.recent_items[k]);
    times.push_back(static_cast<int64_t>(k) + 1);
  }
  return WeighHistory(items, times, *s.item_item());
}

std::vector<ScoredItem> ServingModel::RetrieveItemItem(
    const WeightedHistory& history, int32_t pool, const RemovedItems& removed,
    const ResolvedFilter& filter, Recommendation* out) const {
  const Snapshot& s = *snapshot_;
  std::vector<float> scores(s.num_items(), 0.0f);
  AddItemItemScores(s.item_item_weights(), history, absl::MakeSpan(scores));
  TopK<> top(static_cast<size_t>(pool));
  const auto offer = [&](int32_t item) {
    if (!removed.contains(item) && filter.Allows(item)) {
      top.Offer({item, scores[item]});
    }
  };
  if (filter.has_allow_list()) {
    for (const int32_t item : filter.allow_list()) offer(item);
  } else {
    for (int32_t item = 0; item < s.num_items(); ++item) offer(item);
  }
  out->retrieval_path = RetrievalPath::kItemItem;
  return top.Take();
}

void ServingModel::Explain(const UserSide& side,
                           absl::Span<const ScoredItem> pool,
                           Recommendation* out,
                           const WeightedHistory* history) const {
  const Snapshot& s = *snapshot_;
  absl::flat_hash_map<int32_t, float> retrieval_scores;
  retrieval_scores.reserve(out->items.size());
  for (const RecommendedItem& r : out->items) retrieval_scores[r.item] = 0.0f;
  for (const ScoredItem& c : pool) {
    auto it = retrieval_scores.find(c.item);
    if (it != retrieval_scores.end()) it->second = c.score;
  }
  std::vector<int32_t> items;
  items.reserve(out->items.size());
  for (RecommendedItem& r : out->items) {
    ItemExplanation& e = r.explanation;
    items.push_back(r.item);
    e.retrieval_score = retrieval_scores[r.item];
    if (!s.has_rating_model()) continue;  // no rating model terms
    e.global_mean = s.global_mean();
    e.item_bias = s.item_bias()[r.item];
    e.blend_weight = out->fallback ? 0.0f : s.ranking().blend_weight;
    if (side.has_vectors) {
      e.user_bias = side.bias;
      e.interaction =
          side.Score(s, r.item) - e.global_mean - e.user_bias - e.item_bias;
    }
  }
  if (history != nullptr) {
    // The item-item model's terms: each history item's factor times its
    // weight towards the recommended item.
    const Eigen::Map<const FactorMatrix> weights = s.item_item_weights();
    std::vector<Contribution> row;
    for (RecommendedItem& r : out->items) {
      row.clear();
      for (size_t k = 0; k < history->items.size(); ++k) {
        const int32_t h = history->items[k];
        if (h >= weights.rows() || r.item >= weights.cols()) continue;
        row.push_back({h, history->factors[k] * weights(h, r.item)});
      }
      const size_t keep = std::min<size_t>(row.size(), kMaxContributions);
      std::partial_sort(row.begin(), row.begin() + keep, row.end(),
                        [](const Contribution& a, const Contribution& b) {
                          return RanksAhead(a.share, a.item, b.share, b.item);
                        });
      r.explanation.because.assign(row.begin(), row.begin() + keep);
    }
    return;
  }
  if (items.empty() || side.interactions.empty() || !side.has_vectors ||
      fold_in_ == nullptr) {
    return;
  }
  // An item both trained on and recent is one column, with both terms.
  std::vector<int32_t> interacted;
  const Eigen::MatrixXf shares =
      fold_in_->Explain(side.interactions, items, &interacted);
  std::vector<Contribution> row;
  for (size_t r = 0; r < items.size(); ++r) {
    row.clear();
    for (size_t j = 0; j < interacted.size(); ++j) {
      row.push_back({interacted[j], shares(static_cast<Eigen::Index>(r),
                                           static_cast<Eigen::Index>(j))});
    }
    const size_t keep = std::min<size_t>(row.size(), kMaxContributions);
    std::partial_sort(row.begin(), row.begin() + keep, row.end(),
                      [](const Contribution& a, const Contribution& b) {
                        return RanksAhead(a.share, a.item, b.share, b.item);
                      });
    out->items[r].explanation.because.assign(row.begin(), row.begin() + keep);
  }
}

absl::StatusOr<Recommendation> ServingModel::Recommend(
    const RecommendQuery& q, const ServingLimits& limits,
    const ServingPolicy& policy) const {
  const Snapshot& s = *snapshot_;
  RETURN_IF_ERROR(CheckRecommendQuery(q, RecentRules::Of(s), limits, policy));
  ASSIGN_OR_RETURN(const ResolvedFilter filter,
                   ResolvedFilter::Resolve(q.filter, s));
  const int32_t user = s.FindUser(q.user_id);
  Recommendation out;
  UserSide side;
  RETURN_IF_ERROR(
      ResolveUser(user, q.recent, q.explain, &side, &out.recent_unknown));
  if (!side.has_vectors && !policy.fallbacks) {
    return absl::NotFoundError(
        absl::StrCat("unknown user_id \"", q.user_id, "\"",
                     q.recent.empty() ? "" : " and no known recent item"));
  }
  std::vector<int32_t> excluded;
  excluded.reserve(q.exclude_item_ids.size() + side.recent_items.size());
  for (const std::string& id : q.exclude_item_ids) {
    const int32_t item = s.FindItem(id);
    if (item != kUnknownIndex) excluded.push_back(item);
  }
  if (!q.include_seen) {
    excluded.insert(excluded.end(), side.recent_items.begin(),
                    side.recent_items.end());
  }
  const RemovedItems removed(s.num_items(),
                             q.include_seen || user == kUnknownIndex
                                 ? absl::Span<const int32_t>()
                                 : s.SeenItems(user),
                             std::move(excluded));
  out.folded_in = side.folded;
  out.filtered = filter.active();
  out.allowed_fraction =
      s.num_items() == 0
          ? 1.0
          : static_cast<double>(AllowedBound(filter)) / s.num_items();
  out.explained = q.explain;

  if (!side.has_vectors) {
    out.fallback = true;
    const absl::Span<const int32_t> popularity = s.item_popularity();
    // Reserved slots: the last cold items (they have no ratings to rank by;
    // add-items appends, so the most recently added), after the popular
    // ones.
    std::vector<int32_t> reserved;
    for (int32_t item = s.num_items() - 1;
         item >= s.first_cold_item() &&
         static_cast<int32_t>(reserved.size()) < q.cold_items;
         --item) {
      if (!removed.contains(item) && filter.Allows(item)) {
        reserved.push_back(item);
      }
    }
    // Every allowed, unremoved cold item above the last reserved one is
    // reserved.
    const int32_t reserved_from =
        reserved.empty() ? s.num_items() : reserved.back();
    const auto add = [&](int32_t item) {
      RecommendedItem& r = out.items.emplace_back();
      r.item = item;
      r.score = static_cast<float>(popularity[item]);
      r.predicted_rating =
          s.has_rating_model() ? s.Predict(kUnknownIndex, item) : 0.0f;
    };
    const int32_t popular = q.n - static_cast<int32_t>(reserved.size());
    for (const int32_t item : by_popularity_) {
      if (static_cast<int32_t>(out.items.size()) == popular) break;
      if (item >= reserved_from || removed.contains(item) ||
          !filter.Allows(item)) {
        continue;
      }
      add(item);
    }
    for (const int32_t item : reserved) add(item);
    MarkCold(s, &out);
    if (q.explain) Explain(side, {}, &out);
    return out;
  }

  const auto start = std::chrono::steady_clock::now();
  // Implicit feedback has no rerank: the pool is the answer.
  const int32_t pool =
      !s.has_rating_model()
          ? q.n
          : std::max(q.n, q.candidates > 0 ? q.candidates
                                           : std::min(s.ranking().candidates,
                                                      limits.max_candidates));
  int32_t ef = q.ef > 0 ? q.ef : policy.ef;
  if (ef <= 0) ef = std::max(100, 2 * pool);
  // The item-item model retrieves for the rating model's rerank.
  bool item_item = s.has_item_item() && s.has_rating_model();
  WeightedHistory history;
  std::vector<ScoredItem> candidates;
  if (item_item) {
    history = ItemItemHistory(side);
    // A history the model has no weights for (only cold items, or no
    // positive rating) would score every item 0 and rank by index: the
    // embeddings retrieve instead.
    const int32_t rows = static_cast<int32_t>(s.item_item_weights().rows());
    item_item = std::any_of(history.items.begin(), history.items.end(),
                            [&](int32_t item) { return item < rows; });
  }
  if (item_item) {
    candidates = RetrieveItemItem(history, pool, removed, filter, &out);
  } else {
    ASSIGN_OR_RETURN(candidates, Retrieve(side.retrieval, pool, removed, filter,
                                          q.exact, ef, &out));
  }
  // Reserved slots: the best cold items by retrieval join the pool.
  const bool reserve = q.cold_items > 0 && s.num_cold_items() > 0;
  // The rerank normalizes over the pool alone, so that the cold items added
  // after it leave the other items' blend unchanged.
  const size_t retrieved = candidates.size();
  if (reserve) {
    ASSIGN_OR_RETURN(
        std::vector<ScoredItem> cold,
        RetrieveCold(side.retrieval, q.cold_items, removed, filter, ef));
    // Chosen by the embeddings; the item-item model has no weights for
    // them (no interactions): they score 0 there.
    if (item_item) {
      for (ScoredItem& c : cold) c.score = 0.0f;
    }
    candidates =
        WithColdItems(std::move(candidates), cold, s.first_cold_item());
  }
  out.candidates = pool;
  out.retrieval_seconds = SecondsSince(start);
  const auto is_cold = [&](int32_t item) { return s.IsColdItem(item); };

  const auto rerank_start = std::chrono::steady_clock::now();
  if (!s.has_rating_model()) {
    // Retrieve returns the pool best first; the cold items come after it.
    if (reserve)
      std::sort(candidates.begin(), candidates.end(), RankingOrder());
    const std::vector<ScoredItem> kept =
        SelectWithColdSlots(candidates, q.n, q.cold_items, is_cold);
    out.items.reserve(kept.size());
    for (const ScoredItem& c : kept) {
      RecommendedItem& item = out.items.emplace_back();
      item.item = c.item;
      item.score = c.score;
    }
    MarkCold(s, &out);
    if (q.explain) Explain(side, candidates, &out);
    out.rerank_seconds = SecondsSince(rerank_start);
    return out;
  }
  const TwoStageRanker ranker(s.rating_scale(), s.ranking().blend_weight);
  // With reserved slots the whole pool is ranked, for the cold items' turn.
  const std::vector<RankedItem> ranked = ranker.Rank(
      candidates, [&](int32_t item) { return side.Score(s, item); },
      reserve ? static_cast<int32_t>(candidates.size()) : q.n, retrieved);
  const std::vector<RankedItem> kept =
      SelectWithColdSlots(ranked, q.n, reserve ? q.cold_items : 0, is_cold);
  out.items.reserve(kept.size());
  for (const RankedItem& r : kept) {
    RecommendedItem& item = out.items.emplace_back();
    item.item = r.item;
    item.score = r.score;
    item.predicted_rating = s.Rate(r.rating_score);
  }
  MarkCold(s, &out);
  if (q.explain)
    Explain(side, candidates, &out, item_item ? &history : nullptr);
  out.rerank_seconds = SecondsSince(rerank_start);
  return out;
}

absl::StatusOr<SimilarItemsResult> ServingModel::SimilarItems(
    const SimilarItemsQuery& q, const ServingLimits& limits,
    const ServingPolicy& policy) const {
  const Snapshot& s = *snapshot_;
  if (q.item_ids.empty()) {
    return absl::InvalidArgumentError("item_id is empty (and no item_ids)");
  }
  if (static_cast<int64_t>(q.item_ids.size()) > limits.max_seeds) {
    return absl::InvalidArgumentError(
        absl::StrCat("item_ids has ", q.item_ids.size(),
                     " ids; the maximum is ", limits.max_seeds));
  }
  for (size_t i = 0; i < q.item_ids.size(); ++i) {
    RETURN_IF_ERROR(CheckId(q.item_ids.size() == 1
                                ? std::string("item_id")
                                : absl::StrCat("item_ids[", i, "]"),
                            q.item_ids[i], limits));
  }
  RETURN_IF_ERROR(CheckCount("k", q.k, limits));
  RETURN_IF_ERROR(CheckFilterSizes(q.filter, limits));
  ASSIGN_OR_RETURN(const ResolvedFilter filter,
                   ResolvedFilter::Resolve(q.filter, s));
  std::vector<int32_t> seeds;
  for (const std::string& id : q.item_ids) {
    const int32_t item = s.FindItem(id);
    if (item != kUnknownIndex) seeds.push_back(item);
  }
  if (seeds.empty()) {
    return absl::NotFoundError(
        q.item_ids.size() == 1
            ? absl::StrCat("unknown item_id \"", q.item_ids[0], "\"")
            : absl::StrCat("none of the ", q.item_ids.size(),
                           " item_ids is known"));
  }
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  const Eigen::Map<const FactorMatrix> vectors = item_vectors();
  // One seed: its vector. Several: the mean of their unit vectors, so that
  // each seed counts alike whatever its norm.
  Eigen::RowVectorXf query = vectors.row(seeds[0]);
  if (seeds.size() > 1) {
    query.setZero(vectors.cols());
    for (const int32_t seed : seeds) {
      const float norm = vectors.row(seed).norm();
      if (norm > 0.0f) query += vectors.row(seed) / norm;
    }
    query /= static_cast<float>(seeds.size());
  }
  const absl::Span<const float> query_span(query.data(), query.size());
  const auto is_seed = [&](int32_t item) {
    return std::binary_search(seeds.begin(), seeds.end(), item);
  };
  const auto seed_count = static_cast<int32_t>(seeds.size());
  const int32_t wanted = std::min(q.k + seed_count, s.num_items());
  int32_t ef = policy.ef > 0 ? policy.ef : std::max(100, 2 * wanted);
  ef = std::min(std::max(ef, wanted), std::max(limits.max_ef, wanted));

  SimilarItemsResult out;
  out.filtered = filter.active();
  out.allowed_fraction =
      static_cast<double>(AllowedBound(filter)) / s.num_items();
  std::vector<ScoredItem> found;
  if (!filter.active()) {
    ASSIGN_OR_RETURN(found, similarity_->Search(query_span, wanted, ef));
  } else if (filter.has_allow_list() ||
             AllowedBound(filter) <= kExactAllowedItems) {
    found = ExactNeighborsAmong(vectors, IndexSpace::kCosine, query_span,
                                AllowedItems(filter, is_seed), q.k);
  } else {
    int32_t ef_used = 0;
    ASSIGN_OR_RETURN(
        found, SearchPassing(*similarity_, IndexSpace::kCosine, query_span, q.k,
                             ef, out.allowed_fraction, filter, is_seed,
                             seed_count, {}, &ef_used));
  }
  out.items.reserve(q.k);
  for (const ScoredItem& n : found) {
    if (is_seed(n.item)) continue;
    if (static_cast<int32_t>(out.items.size()) == q.k) break;
    out.items.push_back({n.item, n.score, s.IsColdItem(n.item)});
  }
  return out;
}

absl::StatusOr<RatingPrediction> ServingModel::PredictRating(
    const PredictQuery& q, const ServingLimits& limits,
    const ServingPolicy& policy) const {
  const Snapshot& s = *snapshot_;
  if (!s.has_rating_model()) {
    return absl::FailedPreconditionError(kPredictsNoRatingsMessage);
  }
  RETURN_IF_ERROR(CheckId("user_id", q.user_id, limits));
  RETURN_IF_ERROR(CheckId("item_id", q.item_id, limits));
  RETURN_IF_ERROR(CheckRecent(q.recent, RecentRules::Of(s), limits));
  const int32_t user = s.FindUser(q.user_id);
  const int32_t item = s.FindItem(q.item_id);
  RatingPrediction out;
  UserSide side;
  RETURN_IF_ERROR(ResolveUser(user, q.recent, /*keep_interactions=*/false,
                              &side, &out.recent_unknown));
  if (!policy.fallbacks) {
    if (!side.has_vectors) {
      return absl::NotFoundError(
          absl::StrCat("unknown user_id \"", q.user_id, "\"",
                       q.recent.empty() ? "" : " and no known recent item"));
    }
    if (item == kUnknownIndex) {
      return absl::NotFoundError(
          absl::StrCat("unknown item_id \"", q.item_id, "\""));
    }
  }
  out.user_known = user != kUnknownIndex;
  out.item_known = item != kUnknownIndex;
  out.item_cold = out.item_known && s.IsColdItem(item);
  out.folded_in = side.folded;
  out.rating = s.Rate(side.Score(s, item));
  return out;
}

}  // namespace recserve
