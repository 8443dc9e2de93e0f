#ifndef RECSERVE_SERVER_RECOMMENDER_SERVICE_H_
#define RECSERVE_SERVER_RECOMMENDER_SERVICE_H_

// The recserve.v1.Recommender gRPC service. Each handler pins the current
// model for the whole call, validates and answers through core
// (ServingModel), maps the Status and records metrics; nothing else.

#include "core/serve/model_reloader.h"
#include "core/serve/serving_model.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/server_metrics.h"

namespace recserve::server {

class RecommenderService final : public v1::Recommender::CallbackService {
 public:
  // Borrows `models` and `metrics`, which must outlive the service; copies
  // `limits` and `policy`.
  RecommenderService(const ModelReloader& models, const ServingLimits& limits,
                     const ServingPolicy& policy, ServerMetrics& metrics)
      : models_(models), limits_(limits), policy_(policy), metrics_(metrics) {}

  // gRPC's callback API: each handler answers inline on gRPC's own threads
  // (the work is short and never blocks), which saves the synchronous API's
  // hand-off to a thread pool per call.
  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const v1::RecommendRequest* request,
                                      v1::RecommendResponse* response) override;
  grpc::ServerUnaryReactor* SimilarItems(
      grpc::CallbackServerContext* context,
      const v1::SimilarItemsRequest* request,
      v1::SimilarItemsResponse* response) override;
  grpc::ServerUnaryReactor* PredictRating(
      grpc::CallbackServerContext* context,
      const v1::PredictRatingRequest* request,
      v1::PredictRatingResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;

 private:
  grpc::Status DoRecommend(const v1::RecommendRequest& request,
                           v1::RecommendResponse* response);
  grpc::Status DoSimilarItems(const v1::SimilarItemsRequest& request,
                              v1::SimilarItemsResponse* response);
  grpc::Status DoPredictRating(const v1::PredictRatingRequest& request,
                               v1::PredictRatingResponse* response);
  grpc::Status DoGetModelInfo(v1::ModelInfo* response);

  const ModelReloader& models_;
  const ServingLimits limits_;
  const ServingPolicy policy_;
  ServerMetrics& metrics_;
};

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_RECOMMENDER_SERVICE_H_
