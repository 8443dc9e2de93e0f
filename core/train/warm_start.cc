#include "core/train/warm_start.h"

#include "absl/strings/str_cat.h"

namespace recserve {
namespace {

absl::Status CheckShapes(const FactorMatrix& start_users,
                         const FactorMatrix& start_items,
                         const FactorMatrix& users, const FactorMatrix& items) {
  if (start_users.cols() != users.cols() ||
      start_items.cols() != items.cols()) {
    return absl::InvalidArgumentError(
        absl::StrCat("warm start: the starting model has ", start_items.cols(),
                     " factors, training asks for ", items.cols()));
  }
  if (start_users.rows() > users.rows() || start_items.rows() > items.rows()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "warm start: the starting model has ", start_users.rows(),
        " users and ", start_items.rows(), " items, more than the ",
        users.rows(), " and ", items.rows(), " of the data"));
  }
  return absl::OkStatus();
}

void CopyRows(const FactorMatrix& source, absl::Span<const int32_t> rows,
              FactorMatrix* into) {
  into->setZero(static_cast<Eigen::Index>(rows.size()), source.cols());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] != kUnknownIndex) into->row(i) = source.row(rows[i]);
  }
}

}  // namespace

MfModel StartFromItems(const MfModel& source, absl::Span<const int32_t> rows,
                       int32_t num_users) {
  MfModel model;
  model.global_mean = source.global_mean;
  model.scale = source.scale;
  model.user_bias = Eigen::VectorXf::Zero(num_users);
  model.user_factors = FactorMatrix::Zero(num_users, source.factors());
  CopyRows(source.item_factors, rows, &model.item_factors);
  model.item_bias =
      Eigen::VectorXf::Zero(static_cast<Eigen::Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] != kUnknownIndex)
      model.item_bias[i] = source.item_bias[rows[i]];
  }
  return model;
}

RetrievalModel StartFromItems(const RetrievalModel& source,
                              absl::Span<const int32_t> rows,
                              int32_t num_users) {
  RetrievalModel model;
  model.user_factors =
      FactorMatrix::Zero(num_users, source.item_factors.cols());
  CopyRows(source.item_factors, rows, &model.item_factors);
  return model;
}

absl::Status WarmStart(const MfModel& start, MfModel* model) {
  absl::Status shapes = CheckShapes(start.user_factors, start.item_factors,
                                    model->user_factors, model->item_factors);
  if (shapes.ok() && (start.user_bias.size() != start.user_factors.rows() ||
                      start.item_bias.size() != start.item_factors.rows())) {
    shapes = absl::InvalidArgumentError(
        "warm start: the starting model's biases and factors disagree");
  }
  if (!shapes.ok()) return shapes;
  model->user_factors.topRows(start.user_factors.rows()) = start.user_factors;
  model->item_factors.topRows(start.item_factors.rows()) = start.item_factors;
  model->user_bias.head(start.user_bias.size()) = start.user_bias;
  model->item_bias.head(start.item_bias.size()) = start.item_bias;
  return absl::OkStatus();
}

absl::Status WarmStart(const RetrievalModel& start, RetrievalModel* model) {
  const absl::Status shapes =
      CheckShapes(start.user_factors, start.item_factors, model->user_factors,
                  model->item_factors);
  if (!shapes.ok()) return shapes;
  model->user_factors.topRows(start.user_factors.rows()) = start.user_factors;
  model->item_factors.topRows(start.item_factors.rows()) = start.item_factors;
  return absl::OkStatus();
}

}  // namespace recserve
