#ifndef RECSERVE_CORE_DATA_RATINGS_H_
#define RECSERVE_CORE_DATA_RATINGS_H_

// The in-memory rating data every other part of core/ works on: external
// string ids mapped to dense indices, and ratings that refer to those indices.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace recserve {

// One observed interaction. `user` and `item` are dense indices into the
// IdMaps of the Dataset that holds it; kUnknownIndex marks an id the
// Dataset's maps do not contain (e.g. a test rating of an item never seen in
// training). `value` is a star rating for explicit feedback; for implicit
// feedback it is signed: >= 0 a positive interaction of that strength (the
// summed, weighted counts of its events), < 0 a negative one (core/model/
// confidence.h).
struct Rating {
  int32_t user = 0;
  int32_t item = 0;
  float value = 0.0f;
  int64_t timestamp = 0;
};

inline constexpr int32_t kUnknownIndex = -1;

// What the values of a data set are: star ratings, or events (implicit
// feedback: views, plays, purchases, ... with no rating). kAuto resolves to
// kImplicit for data without a rating column, else kExplicit.
enum class Feedback { kAuto, kExplicit, kImplicit };
// "auto" / "explicit" / "implicit".
absl::string_view FeedbackName(Feedback feedback);
// The inverse; false for any other name.
bool ParseFeedback(absl::string_view name, Feedback* feedback);

// The range of valid ratings and its granularity, e.g. {1, 5, 1} for
// MovieLens 100K and {0.5, 5, 0.5} for the half-star releases. Predictions
// lie in [min, max] (clamped, or a model's expected rating).
struct RatingScale {
  float min = 1.0f;
  float max = 5.0f;
  float step = 1.0f;

  float Clamp(float x) const { return x < min ? min : (x > max ? max : x); }
};

// Infers the scale from observed ratings: the smallest and largest value, and
// step 0.5 if any rating is not a whole number (else 1). Empty input gives the
// default scale.
RatingScale InferRatingScale(const std::vector<Rating>& ratings);

// Bidirectional map between external ids (kept byte for byte as written in the
// input) and dense indices 0..size()-1 in insertion order. Not thread-safe for
// writes; concurrent const access is safe.
class IdMap {
 public:
  IdMap() = default;

  // Returns the index of `id`, adding it at the end if it is new.
  int32_t GetOrAdd(absl::string_view id);
  // Returns the index of `id`, or kUnknownIndex.
  int32_t Find(absl::string_view id) const;
  // The external id of `index`; `index` must be in [0, size()).
  const std::string& Id(int32_t index) const { return ids_[index]; }

  int32_t size() const { return static_cast<int32_t>(ids_.size()); }
  const std::vector<std::string>& ids() const { return ids_; }
  void Reserve(size_t n);

 private:
  absl::flat_hash_map<std::string, int32_t> index_;
  std::vector<std::string> ids_;
};

// For each index of `from`, the index of the same id in `to`, or
// kUnknownIndex: one lookup per id, for re-indexing ratings between maps.
std::vector<int32_t> MapIndices(const IdMap& from, const IdMap& to);

// Ratings plus the id maps they index into. A plain value type: copyable and
// movable, not thread-safe for writes.
struct Dataset {
  IdMap users;
  IdMap items;
  std::vector<Rating> ratings;

  int32_t num_users() const { return users.size(); }
  int32_t num_items() const { return items.size(); }
};

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_RATINGS_H_
