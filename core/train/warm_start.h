#ifndef RECSERVE_CORE_TRAIN_WARM_START_H_
#define RECSERVE_CORE_TRAIN_WARM_START_H_

// Training that starts from an earlier model instead of random factors: the
// refit on every rating starts from the models trained without the held-out
// ones, and a model trained on more rows (users or items appended after the
// earlier model's) starts from the rows it shares with it. The rows the
// earlier model lacks keep the starting values the trainer drew for them.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"

namespace recserve {

// Copies `start`'s factors and biases into the leading rows of `model` (not
// its global mean or scale, which the trainer takes from its data).
// InvalidArgument when the factor counts differ or `start` has more users or
// items than `model`; `model` is then unchanged.
absl::Status WarmStart(const MfModel& start, MfModel* model);

// The same for retrieval embeddings (no biases).
absl::Status WarmStart(const RetrievalModel& start, RetrievalModel* model);

// A starting model for data with `num_users` users and rows.size() items,
// from a model of the same data in another id space (a sample's): item i
// gets `source`'s row rows[i] (factors and bias), or zeros when rows[i] is
// kUnknownIndex; every user gets zeros. ALS and implicit ALS solve every
// user from the items first, and exactly when the users start at zero, so a
// user's starting value plays no part.
// Each rows[i] must index `source`'s items or be kUnknownIndex.
MfModel StartFromItems(const MfModel& source, absl::Span<const int32_t> rows,
                       int32_t num_users);
RetrievalModel StartFromItems(const RetrievalModel& source,
                              absl::Span<const int32_t> rows,
                              int32_t num_users);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_WARM_START_H_
