#include "core/data/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"
#include "core/data/sparse_ratings.h"

namespace recserve {
namespace {

constexpr absl::string_view kExpected =
    "expected random:F, temporal:F, user_random:F, last:N or loo";

absl::Status FractionError(absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("fraction must be in (0, 1), got ", got));
}

absl::Status CountError(absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("last:N needs a whole number N >= 1, got ", got));
}

absl::Status ValidateSpec(const SplitSpec& spec) {
  switch (spec.kind) {
    case SplitSpec::Kind::kRandom:
    case SplitSpec::Kind::kTemporal:
    case SplitSpec::Kind::kUserRandom:
      if (!(spec.fraction > 0 && spec.fraction < 1)) {
        return FractionError(absl::StrCat(spec.fraction));
      }
      return absl::OkStatus();
    case SplitSpec::Kind::kLastN:
      if (spec.count < 1) return CountError(absl::StrCat(spec.count));
      return absl::OkStatus();
    case SplitSpec::Kind::kLeaveOneOut:
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("unknown split kind");
}

// Whether rating a comes before rating b in time: by timestamp, then by
// position in the input.
struct Earlier {
  const std::vector<Rating>* ratings;
  bool operator()(int64_t a, int64_t b) const {
    const int64_t ta = (*ratings)[a].timestamp;
    const int64_t tb = (*ratings)[b].timestamp;
    return ta < tb || (ta == tb && a < b);
  }
};

// round(fraction * n) clamped to [1, n - 1]; n >= 2.
size_t HeldOutCount(double fraction, size_t n) {
  const double raw = std::round(fraction * static_cast<double>(n));
  return std::clamp<size_t>(static_cast<size_t>(raw), 1, n - 1);
}

// Knuth's selection sampling: marks exactly m of the n ratings, each subset
// equally likely.
void MarkRandom(size_t m, uint64_t seed, std::vector<uint8_t>& is_test) {
  std::mt19937_64 rng(seed);
  const size_t n = is_test.size();
  size_t needed = m;
  for (size_t i = 0; i < n && needed > 0; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    if (static_cast<double>(n - i) * u < static_cast<double>(needed)) {
      is_test[i] = 1;
      --needed;
    }
  }
}

void MarkTemporal(const std::vector<Rating>& ratings, size_t m,
                  std::vector<uint8_t>& is_test) {
  const size_t n = ratings.size();
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  // Afterwards order[n - m .. n) holds the m latest ratings.
  std::nth_element(order.begin(), order.begin() + (n - m), order.end(),
                   Earlier{&ratings});
  for (size_t j = n - m; j < n; ++j) is_test[order[j]] = 1;
}

void MarkLastN(const Dataset& all, int32_t count,
               std::vector<uint8_t>& is_test) {
  RatingPositions by_user =
      GroupRatingPositions(all.ratings, all.num_users(), RatingAxis::kUser);
  const Earlier earlier{&all.ratings};
  auto later = [&earlier](int64_t a, int64_t b) { return earlier(b, a); };
  for (int32_t u = 0; u < by_user.rows(); ++u) {
    const int64_t size = by_user.RowSize(u);
    if (size < 2) continue;
    const int64_t hold = std::min<int64_t>(count, size - 1);
    auto begin = by_user.positions.begin() + by_user.offsets[u];
    // Afterwards the row's first `hold` positions are its latest ratings.
    std::nth_element(begin, begin + hold, begin + size, later);
    for (int64_t j = 0; j < hold; ++j) is_test[begin[j]] = 1;
  }
}

void MarkUserRandom(const Dataset& all, double fraction, uint64_t seed,
                    std::vector<uint8_t>& is_test) {
  const RatingPositions by_user =
      GroupRatingPositions(all.ratings, all.num_users(), RatingAxis::kUser);
  std::vector<int64_t> pool;
  for (int32_t u = 0; u < by_user.rows(); ++u) {
    // Negative interactions (events such as dislikes) are never relevant
    // in evaluation: they stay in training.
    pool.clear();
    for (const int64_t p : by_user.Row(u)) {
      if (all.ratings[p].value >= 0) pool.push_back(p);
    }
    const int64_t size = static_cast<int64_t>(pool.size());
    const int64_t hold = std::min<int64_t>(
        size - 1, std::llround(fraction * static_cast<double>(size)));
    if (hold <= 0) continue;
    // A partial Fisher–Yates shuffle, one stream per user.
    RandomStream rng(seed, static_cast<uint64_t>(u));
    for (int64_t j = 0; j < hold; ++j) {
      std::swap(pool[j], pool[j + static_cast<int64_t>(rng.Below(size - j))]);
      is_test[pool[j]] = 1;
    }
  }
}

// Builds the compacted training Dataset and the re-indexed test ratings.
TrainTest Assemble(const Dataset& all, const std::vector<uint8_t>& is_test) {
  TrainTest out;
  std::vector<int32_t> user_map(all.num_users(), kUnknownIndex);
  std::vector<int32_t> item_map(all.num_items(), kUnknownIndex);
  size_t num_test = 0;
  for (uint8_t t : is_test) num_test += t;
  out.train.ratings.reserve(all.ratings.size() - num_test);
  out.test.reserve(num_test);
  for (size_t i = 0; i < all.ratings.size(); ++i) {
    if (is_test[i]) continue;
    Rating r = all.ratings[i];
    int32_t& user = user_map[r.user];
    if (user == kUnknownIndex)
      user = out.train.users.GetOrAdd(all.users.Id(r.user));
    int32_t& item = item_map[r.item];
    if (item == kUnknownIndex)
      item = out.train.items.GetOrAdd(all.items.Id(r.item));
    r.user = user;
    r.item = item;
    out.train.ratings.push_back(r);
  }
  for (size_t i = 0; i < all.ratings.size(); ++i) {
    if (!is_test[i]) continue;
    Rating r = all.ratings[i];
    r.user = user_map[r.user];
    r.item = item_map[r.item];
    out.test.push_back(r);
  }
  return out;
}

}  // namespace

absl::StatusOr<SplitSpec> ParseSplitSpec(absl::string_view text) {
  const size_t colon = text.find(':');
  const absl::string_view name = text.substr(0, colon);
  const bool has_arg = colon != absl::string_view::npos;
  const absl::string_view arg = has_arg ? text.substr(colon + 1) : "";
  SplitSpec spec;
  if (name == "random" || name == "temporal" || name == "user_random") {
    if (!has_arg) {
      return absl::InvalidArgumentError(
          absl::StrCat("", name, " needs a fraction, e.g. ", name, ":0.2"));
    }
    spec.kind = name == "random"        ? SplitSpec::Kind::kRandom
                : name == "user_random" ? SplitSpec::Kind::kUserRandom
                                        : SplitSpec::Kind::kTemporal;
    if (!absl::SimpleAtod(arg, &spec.fraction) ||
        !(spec.fraction > 0 && spec.fraction < 1)) {
      return FractionError(arg);
    }
    return spec;
  }
  if (name == "last") {
    spec.kind = SplitSpec::Kind::kLastN;
    if (!has_arg || !absl::SimpleAtoi(arg, &spec.count) || spec.count < 1) {
      return CountError(has_arg ? absl::StrCat("\"", arg, "\"")
                                : std::string("nothing"));
    }
    return spec;
  }
  if (name == "loo") {
    if (has_arg) {
      return absl::InvalidArgumentError(absl::StrCat(
          "loo takes no argument (use last:N), got \"", text, "\""));
    }
    spec.kind = SplitSpec::Kind::kLeaveOneOut;
    spec.count = 1;
    return spec;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("", kExpected, ", got \"", text, "\""));
}

absl::StatusOr<TrainTest> SplitDataset(const Dataset& all,
                                       const SplitSpec& spec, uint64_t seed) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  const size_t n = all.ratings.size();
  if (n > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("split: too many ratings (", n, ")"));
  }
  for (size_t i = 0; i < n; ++i) {
    const Rating& r = all.ratings[i];
    if (r.user < 0 || r.user >= all.num_users() || r.item < 0 ||
        r.item >= all.num_items()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "split: rating ", i, " has user index ", r.user, " and item index ",
          r.item, ", outside the dataset's ", all.num_users(), " users and ",
          all.num_items(), " items"));
    }
  }
  std::vector<uint8_t> is_test(n, 0);
  switch (spec.kind) {
    case SplitSpec::Kind::kRandom:
    case SplitSpec::Kind::kTemporal:
      if (n < 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("split: need at least 2 ratings to split, got ", n));
      }
      if (spec.kind == SplitSpec::Kind::kRandom) {
        MarkRandom(HeldOutCount(spec.fraction, n), seed, is_test);
      } else {
        MarkTemporal(all.ratings, HeldOutCount(spec.fraction, n), is_test);
      }
      break;
    case SplitSpec::Kind::kUserRandom:
      MarkUserRandom(all, spec.fraction, seed, is_test);
      break;
    case SplitSpec::Kind::kLastN:
      MarkLastN(all, spec.count, is_test);
      break;
    case SplitSpec::Kind::kLeaveOneOut:
      MarkLastN(all, 1, is_test);
      break;
  }
  return Assemble(all, is_test);
}

TrainTest MakeTrainTest(const Dataset& all, size_t num_train) {
  const size_t n = all.ratings.size();
  std::vector<uint8_t> is_test(n, 1);
  std::fill_n(is_test.begin(), std::min(num_train, n), 0);
  return Assemble(all, is_test);
}

}  // namespace recserve
