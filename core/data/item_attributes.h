#ifndef RECSERVE_CORE_DATA_ITEM_ATTRIBUTES_H_
#define RECSERVE_CORE_DATA_ITEM_ATTRIBUTES_H_

// Item attributes: a deterministic featurization of item metadata (genres,
// year, title words, labels, tags) into sparse vectors, so that a map learned
// on items with interactions (core/model/attribute_map.h) can place items
// nobody has interacted with yet in the embedding spaces.
//
// Attributes are named "<kind>:<value>":
//   genre:<name>   each genre of the item (ItemMetadata::genres), value 1;
//   label:<name>   each label of the labels file (ItemLabelMap), value 1;
//   year:<start>   the year bucket [start, start + year_bucket_years) of
//                  ItemMetadata::year, value 1 (no attribute when unknown;
//                  a year outside the spec's buckets takes the nearest
//                  end's, see AttributeSpec::FindYear);
//   word:<word>    each distinct title word, lowercased, the year "(1995)"
//                  and punctuation removed, value 1/sqrt(words of the title);
//   tag:<tag>      each distinct tag (ItemTagMap), value 1/sqrt(tags of the
//                  item).
// Which genres, labels, years, words and tags become attributes is decided
// once, from the items a map is learned on (BuildAttributeSpec), and recorded
// (the snapshot manifest holds the spec), so that the server and later runs
// featurize new items identically: a value the spec does not name is
// ignored.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/data/item_metadata.h"

namespace recserve {

struct ItemAttributeOptions {
  // Width of a year bucket, >= 1. Default 5.
  int32_t year_bucket_years = 5;
  // At most this many title words and tags become attributes, the ones the
  // most items have first (ties by the word's bytes); 0 leaves the kind out.
  // Default 1000 each.
  int32_t max_title_words = 1000;
  int32_t max_tags = 1000;
  // A word or tag becomes an attribute only when at least this many items
  // have it (>= 1). Default 2.
  int32_t min_items = 2;
};

// Where attributes come from; each may be null (no attribute of that kind).
struct ItemAttributeSources {
  const ItemCatalog* items = nullptr;
  const ItemLabelMap* labels = nullptr;
  const ItemTagMap* tags = nullptr;
};

// One item's attributes: ascending attribute indices, their values (> 0).
struct AttributeRow {
  std::vector<int32_t> index;
  std::vector<float> value;
};

// The attributes a featurization knows, in index order, and its options. An
// immutable value; thread-safe to share.
class AttributeSpec {
 public:
  AttributeSpec() = default;
  // From recorded names (e.g. read back from a manifest). Errors:
  // InvalidArgument naming the problem for an empty, duplicate or
  // malformed name (no known "<kind>:" prefix, a year that is not an
  // integer or not the start of a bucket) or options out of range.
  static absl::StatusOr<AttributeSpec> FromNames(
      const ItemAttributeOptions& options, std::vector<std::string> names);

  const ItemAttributeOptions& options() const { return options_; }
  const std::vector<std::string>& names() const { return names_; }
  int32_t size() const { return static_cast<int32_t>(names_.size()); }
  // The index of a name, or -1.
  int32_t Find(absl::string_view name) const;
  // The index of the year bucket of `year` (not 0), or -1 when the spec has
  // no year bucket. A year before the first bucket or after the last gets
  // that bucket: new items are usually newer than every item a map learned
  // on, and the latest bucket is the closest thing it knows. A year that
  // falls in a gap between buckets gets none (-1).
  int32_t FindYear(int32_t year) const;

 private:
  ItemAttributeOptions options_;
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, int32_t> index_;
  // The first and last year bucket's start and index; index -1 when none.
  int64_t first_year_ = 0, last_year_ = 0;
  int32_t first_year_index_ = -1, last_year_index_ = -1;
};

// The spec of `item_ids` (the items a map is learned on): every genre, label
// and year bucket any of them has, and the title words and tags as the
// options allow. Names are ordered by kind (genre, label, year, word, tag)
// then by bytes, so the spec depends only on the inputs (not on the order of
// `item_ids`; a repeated id counts once). Options out of range (see
// FromNames) give the empty spec.
AttributeSpec BuildAttributeSpec(absl::Span<const std::string> item_ids,
                                 const ItemAttributeSources& sources,
                                 const ItemAttributeOptions& options);

// The attributes `item_id` has under `spec`; empty when the sources know
// nothing of it.
AttributeRow Featurize(const AttributeSpec& spec, absl::string_view item_id,
                       const ItemAttributeSources& sources);

// The title's words as Featurize uses them: UTF-8 lowercased (ASCII letters;
// other code points kept as they are), a trailing "(1995)"-style year and
// every character that is not a letter, digit or non-ASCII code point
// treated as a separator; distinct, in order of first appearance.
std::vector<std::string> TitleWords(absl::string_view title);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_ITEM_ATTRIBUTES_H_
