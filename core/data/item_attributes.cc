#include "core/data/item_attributes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/delimited_line.h"
#include "core/data/item_reader.h"

namespace recserve {
namespace {

// The kinds in spec order.
constexpr absl::string_view kKinds[] = {
    "genre:", "label:", "year:", "word:", "tag:"};
enum Kind { kGenre = 0, kLabel, kYear, kWord, kTag, kNumKinds };

absl::Status CheckOptions(const ItemAttributeOptions& options) {
  if (options.year_bucket_years < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "year_bucket_years must be >= 1, got ", options.year_bucket_years));
  }
  if (options.max_title_words < 0 || options.max_tags < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_title_words and max_tags must be >= 0, got ",
                     options.max_title_words, " and ", options.max_tags));
  }
  if (options.min_items < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_items must be >= 1, got ", options.min_items));
  }
  return absl::OkStatus();
}

// Start of the year bucket of `year` (floor division, so negative years
// bucket like the others).
int64_t BucketStart(int32_t year, int32_t width) {
  int64_t q = year / width;
  if (year % width != 0 && year < 0) --q;
  return q * width;
}

std::string YearName(int32_t year, int32_t width) {
  return absl::StrCat(kKinds[kYear], BucketStart(year, width));
}

bool IsWordByte(unsigned char c) { return c >= 0x80 || absl::ascii_isalnum(c); }

template <typename Map>
const typename Map::mapped_type* FindIn(const Map* map, absl::string_view id) {
  if (map == nullptr) return nullptr;
  const auto it = map->find(id);
  return it == map->end() ? nullptr : &it->second;
}

// The distinct strings of `values`, in order of first appearance.
std::vector<absl::string_view> Distinct(
    const std::vector<std::string>& values) {
  std::vector<absl::string_view> out;
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& v : values) {
    if (!v.empty() && seen.insert(v).second) out.push_back(v);
  }
  return out;
}

// Names of the `cap` values most items have (at least `min_items`), ties by
// bytes; returned in byte order.
std::vector<std::string> TopValues(
    const absl::flat_hash_map<std::string, int64_t>& counts, int32_t cap,
    int32_t min_items) {
  std::vector<std::pair<int64_t, absl::string_view>> ranked;
  for (const auto& [value, count] : counts) {
    if (count >= min_items) ranked.emplace_back(count, value);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (ranked.size() > static_cast<size_t>(cap)) ranked.resize(cap);
  std::vector<std::string> out;
  out.reserve(ranked.size());
  for (const auto& [count, value] : ranked) out.emplace_back(value);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

absl::StatusOr<AttributeSpec> AttributeSpec::FromNames(
    const ItemAttributeOptions& options, std::vector<std::string> names) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  AttributeSpec spec;
  spec.options_ = options;
  spec.index_.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attribute name ", i, " is empty"));
    }
    int kind = kNumKinds;
    for (int k = 0; k < kNumKinds; ++k) {
      if (absl::StartsWith(name, kKinds[k])) kind = k;
    }
    if (kind == kNumKinds) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute name ", QuoteForMessage(name),
          " has no known kind; expected genre:, label:, year:, word: or "
          "tag:"));
    }
    const absl::string_view value =
        absl::string_view(name).substr(kKinds[kind].size());
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute name ", QuoteForMessage(name), " has an empty value"));
    }
    int64_t year = 0;
    if (kind == kYear && (!ParseInt64(value, &year) ||
                          year < std::numeric_limits<int32_t>::min() ||
                          year > std::numeric_limits<int32_t>::max())) {
      return absl::InvalidArgumentError(
          absl::StrCat("attribute name ", QuoteForMessage(name),
                       ": the year is not an integer"));
    }
    if (kind == kYear) {
      if (BucketStart(static_cast<int32_t>(year), options.year_bucket_years) !=
          year) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attribute name ", QuoteForMessage(name), ": not the start of a ",
            options.year_bucket_years, "-year bucket"));
      }
      const int32_t index = static_cast<int32_t>(i);
      if (spec.first_year_index_ < 0 || year < spec.first_year_) {
        spec.first_year_ = year, spec.first_year_index_ = index;
      }
      if (spec.last_year_index_ < 0 || year > spec.last_year_) {
        spec.last_year_ = year, spec.last_year_index_ = index;
      }
    }
    if (!spec.index_.emplace(name, static_cast<int32_t>(i)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute name ", QuoteForMessage(name), " is repeated"));
    }
  }
  spec.names_ = std::move(names);
  return spec;
}

int32_t AttributeSpec::Find(absl::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

int32_t AttributeSpec::FindYear(int32_t year) const {
  if (year == 0 || first_year_index_ < 0) return -1;
  const int64_t start = BucketStart(year, options_.year_bucket_years);
  if (start <= first_year_) return first_year_index_;
  if (start >= last_year_) return last_year_index_;
  return Find(YearName(year, options_.year_bucket_years));
}

AttributeSpec BuildAttributeSpec(absl::Span<const std::string> item_ids,
                                 const ItemAttributeSources& sources,
                                 const ItemAttributeOptions& options) {
  absl::flat_hash_set<std::string> fixed[kWord];  // genre, label, year
  absl::flat_hash_map<std::string, int64_t> words, tags;
  absl::flat_hash_set<absl::string_view> done;
  for (const std::string& id : item_ids) {
    if (!done.insert(id).second) continue;  // each item counts once
    if (const ItemMetadata* item = FindIn(sources.items, id)) {
      for (absl::string_view g : Distinct(item->genres)) {
        fixed[kGenre].insert(absl::StrCat(kKinds[kGenre], g));
      }
      if (item->year != 0 && options.year_bucket_years >= 1) {
        fixed[kYear].insert(YearName(item->year, options.year_bucket_years));
      }
      if (options.max_title_words > 0) {
        for (std::string& w : TitleWords(item->title)) ++words[std::move(w)];
      }
    }
    if (const auto* labels = FindIn(sources.labels, id)) {
      for (absl::string_view l : Distinct(*labels)) {
        fixed[kLabel].insert(absl::StrCat(kKinds[kLabel], l));
      }
    }
    if (const auto* item_tags = FindIn(sources.tags, id);
        item_tags != nullptr && options.max_tags > 0) {
      for (absl::string_view t : Distinct(*item_tags)) ++tags[t];
    }
  }
  std::vector<std::string> names;
  for (int k = kGenre; k < kWord; ++k) {
    std::vector<std::string> sorted(fixed[k].begin(), fixed[k].end());
    std::sort(sorted.begin(), sorted.end());
    for (std::string& name : sorted) names.push_back(std::move(name));
  }
  for (const std::string& w :
       TopValues(words, options.max_title_words, options.min_items)) {
    names.push_back(absl::StrCat(kKinds[kWord], w));
  }
  for (const std::string& t :
       TopValues(tags, options.max_tags, options.min_items)) {
    names.push_back(absl::StrCat(kKinds[kTag], t));
  }
  absl::StatusOr<AttributeSpec> spec =
      AttributeSpec::FromNames(options, std::move(names));
  // Only bad options can fail (the names are well formed and distinct):
  // those give the empty spec.
  return spec.ok() ? *std::move(spec) : AttributeSpec();
}

AttributeRow Featurize(const AttributeSpec& spec, absl::string_view item_id,
                       const ItemAttributeSources& sources) {
  std::vector<std::pair<int32_t, float>> found;
  const auto add = [&](absl::string_view kind, absl::string_view value,
                       float v) {
    const int32_t index = spec.Find(absl::StrCat(kind, value));
    if (index >= 0) found.emplace_back(index, v);
  };
  if (const ItemMetadata* item = FindIn(sources.items, item_id)) {
    for (absl::string_view g : Distinct(item->genres))
      add(kKinds[kGenre], g, 1);
    if (const int32_t index = spec.FindYear(item->year); index >= 0) {
      found.emplace_back(index, 1.0f);
    }
    const std::vector<std::string> words = TitleWords(item->title);
    const float value = 1.0f / std::sqrt(static_cast<float>(words.size()));
    for (const std::string& w : words) add(kKinds[kWord], w, value);
  }
  if (const auto* labels = FindIn(sources.labels, item_id)) {
    for (absl::string_view l : Distinct(*labels)) add(kKinds[kLabel], l, 1);
  }
  if (const auto* tags = FindIn(sources.tags, item_id)) {
    const std::vector<absl::string_view> distinct = Distinct(*tags);
    const float value = 1.0f / std::sqrt(static_cast<float>(distinct.size()));
    for (absl::string_view t : distinct) add(kKinds[kTag], t, value);
  }
  std::sort(found.begin(), found.end());
  AttributeRow row;
  row.index.reserve(found.size());
  row.value.reserve(found.size());
  for (const auto& [index, value] : found) {
    if (!row.index.empty() && row.index.back() == index) continue;
    row.index.push_back(index);
    row.value.push_back(value);
  }
  return row;
}

std::vector<std::string> TitleWords(absl::string_view title) {
  std::string utf8;
  if (!IsValidUtf8(title)) {
    utf8 = Latin1ToUtf8(title);
    title = utf8;
  }
  size_t year_begin = 0;
  if (TitleYear(title, &year_begin) != 0) title = title.substr(0, year_begin);
  std::vector<std::string> words;
  absl::flat_hash_set<std::string> seen;
  std::string word;
  // Separators are ASCII bytes only and every byte of a multi-byte sequence
  // is >= 0x80, so a word never splits a code point.
  for (size_t i = 0; i <= title.size(); ++i) {
    const unsigned char c =
        i < title.size() ? static_cast<unsigned char>(title[i]) : ' ';
    if (IsWordByte(c)) {
      word.push_back(absl::ascii_tolower(c));
      continue;
    }
    if (!word.empty() && seen.insert(word).second) words.push_back(word);
    word.clear();
  }
  return words;
}

}  // namespace recserve
