#include "server/proto_conversion.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace recserve::server {
namespace {

// Title and genres of `item` from the snapshot's metadata, when it has them,
// and its labels.
void SetItem(const Snapshot& snapshot, int32_t item, v1::ScoredItem* out) {
  out->set_item_id(snapshot.ItemId(item));
  if (const std::string* title = snapshot.ItemTitle(item)) {
    out->set_title(*title);
  }
  if (const std::vector<std::string>* genres = snapshot.ItemGenres(item)) {
    for (const std::string& g : *genres) out->add_genres(g);
  }
  for (const int32_t label : snapshot.ItemLabels(item)) {
    out->add_labels(snapshot.LabelName(label));
  }
}

void SetExplanation(const Snapshot& snapshot, const ItemExplanation& e,
                    v1::Explanation* out) {
  out->set_global_mean(e.global_mean);
  out->set_user_bias(e.user_bias);
  out->set_item_bias(e.item_bias);
  out->set_interaction(e.interaction);
  out->set_retrieval_score(e.retrieval_score);
  out->set_blend_weight(e.blend_weight);
  for (const Contribution& c : e.because) {
    v1::Contribution* because = out->add_because();
    because->set_item_id(snapshot.ItemId(c.item));
    if (const std::string* title = snapshot.ItemTitle(c.item)) {
      because->set_title(*title);
    }
    because->set_share(c.share);
  }
}

std::vector<RecentInteraction> FromProto(
    const google::protobuf::RepeatedPtrField<v1::Interaction>& recent) {
  std::vector<RecentInteraction> out;
  out.reserve(recent.size());
  for (const v1::Interaction& r : recent) {
    out.push_back({.item_id = r.item_id(),
                   .rating = r.rating(),
                   .weight = r.weight(),
                   .event = r.event()});
  }
  return out;
}

ItemFilterSpec FromProto(const v1::ItemFilter& filter) {
  ItemFilterSpec out;
  out.include_labels.assign(filter.include_labels().begin(),
                            filter.include_labels().end());
  out.exclude_labels.assign(filter.exclude_labels().begin(),
                            filter.exclude_labels().end());
  out.item_ids.assign(filter.item_ids().begin(), filter.item_ids().end());
  return out;
}

// Flattens nested metric objects into "a/b" keys; nulls are left out.
void FlattenMetrics(const nlohmann::json& json, const std::string& prefix,
                    google::protobuf::Map<std::string, double>* out) {
  for (const auto& [key, value] : json.items()) {
    const std::string name = prefix.empty() ? key : prefix + "/" + key;
    if (value.is_object()) {
      FlattenMetrics(value, name, out);
    } else if (value.is_number()) {
      (*out)[name] = value.get<double>();
    }
  }
}

void SetIndexInfo(const ItemIndex& index, int32_t ef, v1::IndexInfo* out) {
  out->set_space(IndexSpaceName(index.space()));
  out->set_dimensions(index.dimensions());
  out->set_m(index.options().m);
  out->set_ef_construction(index.options().ef_construction);
  out->set_ef(ef);
  out->set_items(index.size());
}

}  // namespace

RecommendQuery FromProto(const v1::RecommendRequest& request) {
  RecommendQuery q;
  q.user_id = request.user_id();
  q.n = request.n();
  q.exclude_item_ids.assign(request.exclude_item_ids().begin(),
                            request.exclude_item_ids().end());
  q.include_seen = request.include_seen();
  q.exact = request.exact();
  q.candidates = request.candidates();
  q.ef = request.ef();
  q.recent = FromProto(request.recent());
  q.filter = FromProto(request.filter());
  q.explain = request.explain();
  q.cold_items = request.cold_items();
  return q;
}

SimilarItemsQuery FromProto(const v1::SimilarItemsRequest& request) {
  SimilarItemsQuery q;
  q.item_ids.reserve(request.item_ids_size() + 1);
  if (!request.item_id().empty()) q.item_ids.push_back(request.item_id());
  q.item_ids.insert(q.item_ids.end(), request.item_ids().begin(),
                    request.item_ids().end());
  q.k = request.k();
  q.filter = FromProto(request.filter());
  return q;
}

PredictQuery FromProto(const v1::PredictRatingRequest& request) {
  return {.user_id = request.user_id(),
          .item_id = request.item_id(),
          .recent = FromProto(request.recent())};
}

void ToProto(const ServingModel& model, const Recommendation& recommendation,
             v1::RecommendResponse* response) {
  const Snapshot& s = model.snapshot();
  response->set_model_version(s.version());
  response->set_fallback(recommendation.fallback);
  response->set_candidates(recommendation.candidates);
  response->set_ef(recommendation.ef);
  response->set_folded_in(recommendation.folded_in);
  response->set_recent_unknown(recommendation.recent_unknown);
  for (const RecommendedItem& r : recommendation.items) {
    v1::ScoredItem* item = response->add_items();
    SetItem(s, r.item, item);
    item->set_score(r.score);
    item->set_predicted_rating(r.predicted_rating);
    item->set_cold(r.cold);
    if (recommendation.explained) {
      SetExplanation(s, r.explanation, item->mutable_explanation());
    }
  }
}

void ToProto(const ServingModel& model, const SimilarItemsResult& result,
             v1::SimilarItemsResponse* response) {
  const Snapshot& s = model.snapshot();
  response->set_model_version(s.version());
  for (const SimilarItem& r : result.items) {
    v1::ScoredItem* item = response->add_items();
    SetItem(s, r.item, item);
    item->set_score(r.similarity);
    item->set_cold(r.cold);
  }
}

void ToProto(const ServingModel& model, const RatingPrediction& prediction,
             v1::PredictRatingResponse* response) {
  response->set_model_version(model.snapshot().version());
  response->set_rating(prediction.rating);
  response->set_user_known(prediction.user_known);
  response->set_item_known(prediction.item_known);
  response->set_fallback(!(prediction.user_known || prediction.folded_in) ||
                         !prediction.item_known);
  response->set_folded_in(prediction.folded_in);
  response->set_item_cold(prediction.item_cold);
}

void ToProto(const ServingModel& model, int32_t ef, v1::ModelInfo* info) {
  const Snapshot& s = model.snapshot();
  const SnapshotManifest& m = s.manifest();
  info->set_model_version(s.version());
  info->set_created_at(m.created_at);
  info->set_algo(m.algo);
  info->set_num_users(s.num_users());
  info->set_num_items(s.num_items());
  info->set_cold_items(s.num_cold_items());
  info->set_retrieval_model(
      s.has_item_item() && s.has_rating_model() ? "item_item" : "embeddings");
  info->set_item_item_items(s.item_item_weights().rows());
  for (const float c : s.ordinal_output().cutpoints) {
    info->add_ordinal_cutpoints(c);
  }
  info->set_ordinal_stddev(s.ordinal_output().stddev);
  info->set_num_ratings(m.num_ratings);
  info->set_factors(s.factors());
  info->set_retrieval_factors(s.retrieval_factors());
  info->set_global_mean(s.global_mean());
  info->set_rating_min(s.rating_scale().min);
  info->set_rating_max(s.rating_scale().max);
  info->set_candidates(s.ranking().candidates);
  info->set_blend_weight(s.ranking().blend_weight);
  FlattenMetrics(m.metrics, "", info->mutable_metrics());
  SetIndexInfo(model.retrieval_index(), ef, info->mutable_retrieval_index());
  SetIndexInfo(model.similarity_index(), ef, info->mutable_similarity_index());
  info->set_loaded_at(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", model.created_at(),
                                       absl::UTCTimeZone()));
  info->set_checksum(model.checksum());
  for (int32_t label = 0; label < s.num_labels(); ++label) {
    info->add_labels(s.LabelName(label));
  }
  info->set_fold_in(s.fold_in() != nullptr);
  info->set_feedback(std::string(FeedbackName(s.feedback())));
  for (const auto& [name, weight] : s.events().weights) {
    (*info->mutable_event_weights())[name] = weight;
  }
  for (const std::string& name : s.events().negative) {
    info->add_negative_events(name);
  }
}

}  // namespace recserve::server
