#ifndef RECSERVE_SERVER_RECOMMENDER_SERVICE_H_
#define RECSERVE_SERVER_RECOMMENDER_SERVICE_H_

// The recserve.v1.Recommender gRPC service. Each handler pins the current
// model for the whole call, validates and answers through core
// (ServingModel), maps the Status and records metrics; nothing else.

#include "core/model_reloader.h"
#include "core/serving_model.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/server_metrics.h"

namespace recserve::server {

class RecommenderService final : public v1::Recommender::Service {
 public:
  // Borrows `models` and `metrics`, which must outlive the service.
  RecommenderService(const ModelReloader& models, const ServingLimits& limits,
                     ServerMetrics& metrics)
      : models_(models), limits_(limits), metrics_(metrics) {}

  grpc::Status Recommend(grpc::ServerContext* context,
                         const v1::RecommendRequest* request,
                         v1::RecommendResponse* response) override;
  grpc::Status SimilarItems(grpc::ServerContext* context,
                            const v1::SimilarItemsRequest* request,
                            v1::SimilarItemsResponse* response) override;
  grpc::Status PredictRating(grpc::ServerContext* context,
                             const v1::PredictRatingRequest* request,
                             v1::PredictRatingResponse* response) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context,
                            const v1::GetModelInfoRequest* request,
                            v1::ModelInfo* response) override;

 private:
  const ModelReloader& models_;
  const ServingLimits limits_;
  ServerMetrics& metrics_;
};

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_RECOMMENDER_SERVICE_H_
