#include "core/data/label_index.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace recserve {
namespace {

// Id -> feature names, numbered in sorted order so that the numbering does
// not depend on hash order.
using FeatureNames = std::map<std::string, std::vector<std::string>>;

}  // namespace

LabelIndex LabelIndex::FromGenres(const ItemCatalog& catalog) {
  FeatureNames names;
  for (const auto& [id, metadata] : catalog) {
    for (const std::string& g : metadata.genres) names[id].push_back(g);
  }
  return FromNames(names);
}

LabelIndex LabelIndex::FromLabels(const LabelMap& labels) {
  return FromNames(FeatureNames(labels.begin(), labels.end()));
}

LabelIndex LabelIndex::FromNames(const FeatureNames& names) {
  std::map<std::string, int32_t> number;
  for (const auto& [id, features] : names) {
    for (const std::string& f : features) number.emplace(f, 0);
  }
  int32_t next = 0;
  for (auto& [name, n] : number) n = next++;
  LabelIndex index;
  for (const auto& [id, features] : names) {
    std::vector<int32_t>& to = index.by_id_[id];
    for (const std::string& f : features) to.push_back(number.at(f));
    std::sort(to.begin(), to.end());
    to.erase(std::unique(to.begin(), to.end()), to.end());
  }
  return index;
}

std::vector<std::vector<int32_t>> LabelIndex::ForIds(const IdMap& ids) const {
  std::vector<std::vector<int32_t>> out(ids.size());
  absl::flat_hash_map<int32_t, int32_t> dense;
  for (int32_t i = 0; i < ids.size(); ++i) {
    const auto it = by_id_.find(ids.Id(i));
    if (it == by_id_.end()) continue;
    for (int32_t global : it->second) {
      const auto [d, added] =
          dense.try_emplace(global, static_cast<int32_t>(dense.size()));
      out[i].push_back(d->second);
    }
  }
  return out;
}

}  // namespace recserve
