#include "server/recommender_service.h"

#include <memory>

#include "server/proto_conversion.h"
#include "server/status_mapping.h"

namespace recserve::server {
namespace {

const grpc::Status kNoModel(grpc::StatusCode::UNAVAILABLE,
                            "no snapshot loaded yet");

grpc::Status Finish(RequestScope& scope, const grpc::Status& status) {
  scope.Finish(static_cast<int>(status.error_code()));
  return status;
}

}  // namespace

grpc::Status RecommenderService::DoRecommend(
    const v1::RecommendRequest& request, v1::RecommendResponse* response) {
  RequestScope scope(metrics_, Method::kRecommend);
  const std::shared_ptr<const ServingModel> model = models_.Current();
  if (model == nullptr) return Finish(scope, kNoModel);
  const absl::StatusOr<Recommendation> result =
      model->Recommend(FromProto(request), limits_, policy_);
  if (!result.ok()) return Finish(scope, ToGrpcStatus(result.status()));
  if (!result->fallback) {
    metrics_.RecordStages(result->retrieval_seconds, result->rerank_seconds,
                          result->candidates,
                          RetrievalPathName(result->retrieval_path));
  }
  metrics_.RecordFoldIn(Method::kRecommend, result->folded_in,
                        result->recent_unknown);
  if (result->filtered) {
    metrics_.RecordFilter(Method::kRecommend, result->allowed_fraction);
  }
  if (result->explained) metrics_.RecordExplanation();
  metrics_.RecordColdItems(Method::kRecommend, result->cold_returned);
  ToProto(*model, *result, response);
  return Finish(scope, grpc::Status::OK);
}

grpc::Status RecommenderService::DoSimilarItems(
    const v1::SimilarItemsRequest& request,
    v1::SimilarItemsResponse* response) {
  RequestScope scope(metrics_, Method::kSimilarItems);
  const std::shared_ptr<const ServingModel> model = models_.Current();
  if (model == nullptr) return Finish(scope, kNoModel);
  const absl::StatusOr<SimilarItemsResult> result =
      model->SimilarItems(FromProto(request), limits_, policy_);
  if (!result.ok()) return Finish(scope, ToGrpcStatus(result.status()));
  if (result->filtered) {
    metrics_.RecordFilter(Method::kSimilarItems, result->allowed_fraction);
  }
  int32_t cold = 0;
  for (const SimilarItem& item : result->items) cold += item.cold ? 1 : 0;
  metrics_.RecordColdItems(Method::kSimilarItems, cold);
  ToProto(*model, *result, response);
  return Finish(scope, grpc::Status::OK);
}

grpc::Status RecommenderService::DoPredictRating(
    const v1::PredictRatingRequest& request,
    v1::PredictRatingResponse* response) {
  RequestScope scope(metrics_, Method::kPredictRating);
  const std::shared_ptr<const ServingModel> model = models_.Current();
  if (model == nullptr) return Finish(scope, kNoModel);
  const absl::StatusOr<RatingPrediction> result =
      model->PredictRating(FromProto(request), limits_, policy_);
  if (!result.ok()) return Finish(scope, ToGrpcStatus(result.status()));
  metrics_.RecordFoldIn(Method::kPredictRating, result->folded_in,
                        result->recent_unknown);
  ToProto(*model, *result, response);
  return Finish(scope, grpc::Status::OK);
}

grpc::Status RecommenderService::DoGetModelInfo(v1::ModelInfo* response) {
  RequestScope scope(metrics_, Method::kGetModelInfo);
  const std::shared_ptr<const ServingModel> model = models_.Current();
  if (model == nullptr) return Finish(scope, kNoModel);
  ToProto(*model, policy_.ef, response);
  return Finish(scope, grpc::Status::OK);
}

grpc::ServerUnaryReactor* RecommenderService::Recommend(
    grpc::CallbackServerContext* context, const v1::RecommendRequest* request,
    v1::RecommendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(DoRecommend(*request, response));
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::SimilarItems(
    grpc::CallbackServerContext* context,
    const v1::SimilarItemsRequest* request,
    v1::SimilarItemsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(DoSimilarItems(*request, response));
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::PredictRating(
    grpc::CallbackServerContext* context,
    const v1::PredictRatingRequest* request,
    v1::PredictRatingResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(DoPredictRating(*request, response));
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::GetModelInfo(
    grpc::CallbackServerContext* context, const v1::GetModelInfoRequest*,
    v1::ModelInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(DoGetModelInfo(response));
  return reactor;
}

}  // namespace recserve::server
