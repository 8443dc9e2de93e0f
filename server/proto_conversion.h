#ifndef RECSERVE_SERVER_PROTO_CONVERSION_H_
#define RECSERVE_SERVER_PROTO_CONVERSION_H_

// Between the API's messages (proto/recserve/v1) and core's types. Pure
// copies: no validation (core validates) and no ranking logic.

#include "core/serve/serving_model.h"
#include "recserve/v1/recommender.pb.h"

namespace recserve::server {

RecommendQuery FromProto(const v1::RecommendRequest& request);
// The seeds are item_id (when set) followed by item_ids, as sent.
SimilarItemsQuery FromProto(const v1::SimilarItemsRequest& request);
PredictQuery FromProto(const v1::PredictRatingRequest& request);

// Items carry their title, genres and labels from the snapshot; explained
// items their explanation, contributions named by item id and title.
void ToProto(const ServingModel& model, const Recommendation& recommendation,
             v1::RecommendResponse* response);
void ToProto(const ServingModel& model, const SimilarItemsResult& result,
             v1::SimilarItemsResponse* response);
void ToProto(const ServingModel& model, const RatingPrediction& prediction,
             v1::PredictRatingResponse* response);
// `ef` is the server's default search breadth, ServingPolicy::ef (0 =
// automatic).
void ToProto(const ServingModel& model, int32_t ef, v1::ModelInfo* info);

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_PROTO_CONVERSION_H_
