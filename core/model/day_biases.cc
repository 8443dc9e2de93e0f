#include "core/model/day_biases.h"

namespace recserve {

int64_t DayOf(int64_t timestamp) {
  int64_t day = timestamp / kSecondsPerDay;
  if (timestamp % kSecondsPerDay < 0) --day;
  return day;
}

float DayBiases::Offset(int32_t user, int64_t timestamp) const {
  if (empty()) return 0.0f;
  const int64_t d = DayOf(timestamp);
  float offset = 0.0f;
  if (auto it = day.find(d); it != day.end()) offset += it->second;
  if (user >= 0) {
    if (auto it = user_day.find({user, d}); it != user_day.end())
      offset += it->second;
  }
  return offset;
}

}  // namespace recserve
