#include "core/pipeline/add_items.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/base/file_util.h"
#include "core/base/mapped_file.h"
#include "core/base/npy.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/data/item_attributes.h"
#include "core/data/item_label_reader.h"
#include "core/data/item_tag_reader.h"
#include "core/index/item_index.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_writer.h"

namespace recserve {
namespace {

namespace fs = std::filesystem;

// The new items and their mapped rows.
struct NewItems {
  std::vector<std::string> ids;
  FactorMatrix factors;     // n x factors (empty without a rating model)
  Eigen::VectorXf bias;     // n (empty without a rating model)
  FactorMatrix embeddings;  // n x retrieval factors
  int64_t without_attributes = 0;
};

// Ascending by (length, bytes): numeric ids in numeric order.
bool IdOrder(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// As snapshot_writer.cc writes text lines: no line breaks or tabs, and no
// '|' inside a genre or label.
std::string Sanitize(absl::string_view text, bool in_list) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t' || (in_list && c == '|')) c = ' ';
  }
  return out;
}

std::string ListLine(const std::vector<std::string>& values) {
  std::vector<std::string> kept;
  for (const std::string& v : values) {
    if (!v.empty()) kept.push_back(Sanitize(v, /*in_list=*/true));
  }
  return absl::StrCat(absl::StrJoin(kept, "|"), "\n");
}

// Hard-links `from` as `to`, or copies it where the file system cannot link.
absl::Status LinkOrCopy(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
  const int link_error = errno;
  if (link_error != EXDEV && link_error != EPERM && link_error != EMLINK &&
      link_error != ENOTSUP && link_error != EOPNOTSUPP) {
    return ErrnoStatus(link_error, to, absl::StrCat("link to ", from));
  }
  ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(from));
  const absl::string_view bytes = file.bytes();
  return WriteFileDurably(to, {bytes});
}

absl::StatusOr<NewItems> PlaceNewItems(const Snapshot& base,
                                       std::vector<std::string> ids,
                                       const ItemAttributeSources& sources) {
  const ItemAttributeModel& attributes = *base.attributes();
  const int64_t n = static_cast<int64_t>(ids.size());
  const int32_t k = base.factors();
  const int32_t rk = base.retrieval_factors();
  NewItems out;
  out.ids = std::move(ids);
  out.embeddings.resize(n, rk);
  if (base.has_rating_model()) {
    out.factors.resize(n, k);
    out.bias.resize(n);
  }
  std::vector<float> rating_row(static_cast<size_t>(k) + 1);
  for (int64_t i = 0; i < n; ++i) {
    const AttributeRow row = Featurize(attributes.spec, out.ids[i], sources);
    if (row.index.empty()) ++out.without_attributes;
    attributes.retrieval.Apply(
        row, absl::Span<float>(out.embeddings.row(i).data(), rk));
    if (base.has_rating_model()) {
      attributes.rating->Apply(row, absl::MakeSpan(rating_row));
      for (int32_t f = 0; f < k; ++f) out.factors(i, f) = rating_row[f];
      out.bias[i] = rating_row[k];
    }
  }
  if (!out.embeddings.allFinite() || !out.factors.allFinite() ||
      !out.bias.allFinite()) {
    return absl::InternalError("the attribute maps gave non-finite rows");
  }
  return out;
}

absl::string_view FloatBytes(const float* data, int64_t count) {
  return absl::string_view(reinterpret_cast<const char*>(data),
                           static_cast<size_t>(count) * sizeof(float));
}

// Writes the files of the new version into `dir`: the item files grown by
// the new items, every other file of the base linked.
class VersionWriter {
 public:
  VersionWriter(const Snapshot& base, const NewItems& added,
                const ItemCatalog& catalog, const ItemLabelMap& labels)
      : base_(base), added_(added), catalog_(catalog), labels_(labels) {}

  absl::Status Write(const std::string& dir, SnapshotManifest* m) {
    dir_ = dir;
    manifest_ = m;
    const std::set<std::string> grown = {
        kItemIdsFile,        kItemFactorsFile,    kItemBiasFile,
        kItemPopularityFile, kItemEmbeddingsFile, kItemTitlesFile,
        kItemGenresFile,     kItemLabelsFile};
    for (const auto& [name, info] : base_.manifest().files) {
      if (grown.count(name)) continue;
      RETURN_IF_ERROR(LinkOrCopy(BasePath(name), absl::StrCat(dir, "/", name)));
      m->files[name] = info;
    }
    const int64_t old_items = base_.num_items();
    const int64_t items = old_items + static_cast<int64_t>(added_.ids.size());
    {
      std::string lines;
      for (const std::string& id : added_.ids)
        absl::StrAppend(&lines, id, "\n");
      RETURN_IF_ERROR(AppendToBaseFile(kItemIdsFile, lines));
    }
    if (base_.has_rating_model()) {
      const int64_t k = base_.factors();
      RETURN_IF_ERROR(WriteFloats(
          kItemFactorsFile, {items, k},
          FloatBytes(base_.item_factors().data(), old_items * k),
          FloatBytes(added_.factors.data(), added_.factors.size())));
      RETURN_IF_ERROR(
          WriteFloats(kItemBiasFile, {items},
                      FloatBytes(base_.item_bias().data(), old_items),
                      FloatBytes(added_.bias.data(), added_.bias.size())));
    }
    const int64_t rk = base_.retrieval_factors();
    RETURN_IF_ERROR(WriteFloats(
        kItemEmbeddingsFile, {items, rk},
        FloatBytes(base_.item_embeddings().data(), old_items * rk),
        FloatBytes(added_.embeddings.data(), added_.embeddings.size())));
    {
      const std::string header =
          MakeNpyHeader(NpyDtype::kInt32, std::vector<int64_t>{items});
      const absl::Span<const int32_t> popularity = base_.item_popularity();
      const std::string zeros(added_.ids.size() * sizeof(int32_t), '\0');
      RETURN_IF_ERROR(WriteSnapshotFile(
          dir, kItemPopularityFile,
          {header,
           absl::string_view(reinterpret_cast<const char*>(popularity.data()),
                             popularity.size() * sizeof(int32_t)),
           zeros},
          m));
    }
    if (base_.manifest().files.count(kItemTitlesFile)) {
      std::string titles, genres;
      for (const std::string& id : added_.ids) {
        const auto it = catalog_.find(id);
        if (it != catalog_.end()) {
          titles += Sanitize(it->second.title, /*in_list=*/false);
          genres += ListLine(it->second.genres);
        } else {
          genres += "\n";
        }
        titles += "\n";
      }
      RETURN_IF_ERROR(AppendToBaseFile(kItemTitlesFile, titles));
      RETURN_IF_ERROR(AppendToBaseFile(kItemGenresFile, genres));
    }
    return WriteLabels(old_items);
  }

 private:
  std::string BasePath(absl::string_view name) const {
    return absl::StrCat(base_.dir(), "/", name);
  }

  // The base's file (its bytes as the base manifest lists them), then
  // `tail`.
  absl::Status AppendToBaseFile(const std::string& name,
                                absl::string_view tail) {
    ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(BasePath(name)));
    const SnapshotFileInfo& info = base_.manifest().files.at(name);
    // The new version's checksum covers these bytes: they must be the ones
    // the base vouched for.
    if (file.size() != info.bytes || Crc32(file.bytes()) != info.crc32) {
      return absl::DataLossError(
          absl::StrCat(BasePath(name), ": changed since the snapshot loaded"));
    }
    return WriteSnapshotFile(dir_, name, {file.bytes(), tail}, manifest_);
  }

  absl::Status WriteFloats(const std::string& name, std::vector<int64_t> shape,
                           absl::string_view old_rows,
                           absl::string_view new_rows) {
    const std::string header = MakeNpyHeader(NpyDtype::kFloat32, shape);
    return WriteSnapshotFile(dir_, name, {header, old_rows, new_rows},
                             manifest_);
  }

  // item_labels.txt grows when the base has it or a new item has labels.
  absl::Status WriteLabels(int64_t old_items) {
    std::string lines;
    bool any = false;
    for (const std::string& id : added_.ids) {
      const auto it = labels_.find(id);
      if (it != labels_.end()) {
        lines += ListLine(it->second);
        any = any || !it->second.empty();
      } else {
        lines += "\n";
      }
    }
    if (base_.manifest().files.count(kItemLabelsFile)) {
      return AppendToBaseFile(kItemLabelsFile, lines);
    }
    if (!any) return absl::OkStatus();
    const std::string empty(static_cast<size_t>(old_items), '\n');
    return WriteSnapshotFile(dir_, kItemLabelsFile, {empty, lines}, manifest_);
  }

  const Snapshot& base_;
  const NewItems& added_;
  const ItemCatalog& catalog_;
  const ItemLabelMap& labels_;
  std::string dir_;
  SnapshotManifest* manifest_ = nullptr;
};

// The index files of the base folder (named for its checksum), extended with
// the new items' vectors and saved in `dir` under its checksum.
absl::StatusOr<int32_t> ExtendIndexes(const Snapshot& base,
                                      const FactorMatrix& new_vectors,
                                      const std::string& dir, int32_t threads,
                                      std::vector<std::string>* skipped) {
  ASSIGN_OR_RETURN(const std::string base_checksum,
                   SnapshotChecksum(base.dir()));
  ASSIGN_OR_RETURN(const std::string checksum, SnapshotChecksum(dir));
  const std::string prefix = absl::StrCat("index-", base_checksum, "-");
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(base.dir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, prefix) && absl::EndsWith(name, ".hnsw")) {
      names.push_back(name);
    }
  }
  if (ec) return ErrnoStatus(ec.value(), base.dir(), "list folder");
  std::sort(names.begin(), names.end());
  int32_t extended = 0;
  for (const std::string& name : names) {
    absl::string_view rest = absl::string_view(name).substr(prefix.size());
    IndexSpace space;
    if (absl::StartsWith(rest, "ip-")) {
      space = IndexSpace::kInnerProduct;
    } else if (absl::StartsWith(rest, "cosine-")) {
      space = IndexSpace::kCosine;
    } else {
      continue;
    }
    // A saved index that does not load is left out: the server rebuilds
    // what it does not find, as it would have for the base.
    absl::StatusOr<std::unique_ptr<ItemIndex>> loaded = ItemIndex::Load(
        absl::StrCat(base.dir(), "/", name), ItemVectorsOf(base), space);
    if (!loaded.ok()) {
      skipped->push_back(absl::StrCat(name, ": ", loaded.status().message()));
      continue;
    }
    ASSIGN_OR_RETURN(
        std::unique_ptr<ItemIndex> index,
        ItemIndex::Extend(std::move(loaded).value(), new_vectors, threads));
    const std::string target = absl::StrCat(
        dir, "/", IndexFileName(checksum, space, index->options()));
    RETURN_IF_ERROR(index->Save(target));
    ++extended;
  }
  return extended;
}

}  // namespace

absl::StatusOr<AddItemsReport> AddItems(const AddItemsOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.root.empty() || options.items_path.empty()) {
    return absl::InvalidArgumentError(
        "add-items needs a snapshot root and an items file");
  }
  if (options.keep_versions < 0 || options.threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("add-items: keep_versions ", options.keep_versions,
                     " and threads ", options.threads, " must be >= 0"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> base,
                   Snapshot::LoadLatest(options.root));
  AddItemsReport report;
  report.base_version = base->version();
  if (base->attributes() == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot ", base->version(),
                     " has no attribute maps: retrain with item metadata "
                     "(--items) to add items"));
  }

  ItemCatalog catalog;
  RETURN_IF_ERROR(
      ReadItems(options.items_path, options.items, &catalog).status());
  ItemLabelMap labels;
  if (!options.item_labels_path.empty()) {
    ItemLabelReadOptions read;
    read.skip_bad_lines = options.items.skip_bad_lines;
    RETURN_IF_ERROR(
        ReadItemLabels(options.item_labels_path, read, &labels).status());
  }
  ItemTagMap tags;
  if (!options.item_tags_path.empty()) {
    ItemTagReadOptions read;
    read.skip_bad_lines = options.items.skip_bad_lines;
    RETURN_IF_ERROR(ReadItemTags(options.item_tags_path, read, &tags).status());
  }

  std::vector<std::string> ids;
  for (const auto& [id, metadata] : catalog) {
    if (base->FindItem(id) != kUnknownIndex) {
      ++report.already_present;
    } else {
      ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end(), IdOrder);
  report.added = static_cast<int64_t>(ids.size());
  if (ids.empty()) {
    report.seconds = SecondsSince(start);
    return report;
  }
  const int64_t new_items = int64_t{base->num_items()} + report.added;
  if (new_items > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("add-items: ", new_items,
                     " items in all is more than a snapshot holds"));
  }
  ItemAttributeSources sources;
  sources.items = &catalog;
  sources.labels = options.item_labels_path.empty() ? nullptr : &labels;
  sources.tags = options.item_tags_path.empty() ? nullptr : &tags;
  ASSIGN_OR_RETURN(const NewItems added,
                   PlaceNewItems(*base, std::move(ids), sources));
  report.without_attributes = added.without_attributes;

  SnapshotManifest manifest = base->manifest();
  manifest.num_items = static_cast<int32_t>(new_items);
  manifest.cold_items += static_cast<int32_t>(report.added);
  nlohmann::json& history = manifest.training_params["added_items"];
  if (!history.is_array()) history = nlohmann::json::array();
  history.push_back(
      {{"base_version", base->version()}, {"added", report.added}});

  VersionWriter writer(*base, added, catalog, labels);
  PublishOptions publish;
  publish.keep_versions = options.keep_versions;
  publish.before_rename = [&](const std::string& dir) -> absl::Status {
    const auto index_start = std::chrono::steady_clock::now();
    // Format 5 has retrieval embeddings: the vectors the server indexes
    // (ItemVectorsOf).
    ASSIGN_OR_RETURN(report.indexes_extended,
                     ExtendIndexes(*base, added.embeddings, dir,
                                   options.threads, &report.indexes_skipped));
    report.index_seconds = SecondsSince(index_start);
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(report.version,
                   PublishSnapshotFiles(
                       options.root, std::move(manifest),
                       [&writer](const std::string& dir, SnapshotManifest* m) {
                         return writer.Write(dir, m);
                       },
                       publish));
  report.dir = (fs::path(options.root) / report.version).string();
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace recserve
