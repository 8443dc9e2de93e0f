#include "core/data/data_fingerprint.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace recserve {
namespace {

uint64_t Mix64(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

class Fnv1a64 {
 public:
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ULL;
  }
  void AddLe(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      unsigned char b = static_cast<unsigned char>(v >> (8 * i));
      Add(&b, 1);
    }
  }
  void AddString(absl::string_view s) {
    AddLe(s.size(), 8);
    Add(s.data(), s.size());
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string FingerprintRatings(const Dataset& train) {
  uint64_t a = 0, b = 0;
  for (const Rating& r : train.ratings) {
    Fnv1a64 h;
    h.AddString(r.user >= 0 && r.user < train.num_users()
                    ? absl::string_view(train.users.Id(r.user))
                    : absl::string_view());
    h.AddString(r.item >= 0 && r.item < train.num_items()
                    ? absl::string_view(train.items.Id(r.item))
                    : absl::string_view());
    h.AddLe(std::bit_cast<uint32_t>(r.value), 4);
    h.AddLe(static_cast<uint64_t>(r.timestamp), 8);
    a += Mix64(h.value());
    b += Mix64(h.value() ^ 0x9e3779b97f4a7c15ULL);
  }
  a ^= Mix64(train.ratings.size());
  return absl::StrFormat("%016x%016x", a, b);
}

}  // namespace recserve
