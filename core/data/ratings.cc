#include "core/data/ratings.h"

#include <cmath>

namespace recserve {

absl::string_view FeedbackName(Feedback feedback) {
  switch (feedback) {
    case Feedback::kExplicit:
      return "explicit";
    case Feedback::kImplicit:
      return "implicit";
    case Feedback::kAuto:
      break;
  }
  return "auto";
}

bool ParseFeedback(absl::string_view name, Feedback* feedback) {
  for (Feedback f :
       {Feedback::kAuto, Feedback::kExplicit, Feedback::kImplicit}) {
    if (name == FeedbackName(f)) {
      *feedback = f;
      return true;
    }
  }
  return false;
}

RatingScale InferRatingScale(const std::vector<Rating>& ratings) {
  if (ratings.empty()) return RatingScale{};
  RatingScale scale{ratings[0].value, ratings[0].value, 1.0f};
  for (const Rating& r : ratings) {
    if (r.value < scale.min) scale.min = r.value;
    if (r.value > scale.max) scale.max = r.value;
    if (r.value != std::floor(r.value)) scale.step = 0.5f;
  }
  return scale;
}

int32_t IdMap::GetOrAdd(absl::string_view id) {
  auto [it, inserted] =
      index_.try_emplace(id, static_cast<int32_t>(ids_.size()));
  if (inserted) ids_.emplace_back(id);
  return it->second;
}

int32_t IdMap::Find(absl::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? kUnknownIndex : it->second;
}

void IdMap::Reserve(size_t n) {
  index_.reserve(n);
  ids_.reserve(n);
}

std::vector<int32_t> MapIndices(const IdMap& from, const IdMap& to) {
  std::vector<int32_t> out(from.size());
  for (int32_t i = 0; i < from.size(); ++i) out[i] = to.Find(from.Id(i));
  return out;
}

}  // namespace recserve
