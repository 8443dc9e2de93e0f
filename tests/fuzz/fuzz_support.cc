#include "tests/fuzz/fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/item_attributes.h"
#include "core/snapshot/snapshot_writer.h"
#include "tests/testutil/implicit_snapshot.h"
#include "tests/testutil/tiny_model.h"

namespace recserve::fuzz {

void Fail(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", file, line, condition);
  std::abort();
}

MemoryFile::MemoryFile(const char* name) {
  fd_ = memfd_create(name, 0);
  if (fd_ < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  path_ = absl::StrCat("/proc/self/fd/", fd_);
}

MemoryFile::~MemoryFile() { close(fd_); }

const std::string& MemoryFile::Write(absl::string_view bytes) {
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, bytes.data(), bytes.size(), 0) !=
                                    static_cast<ssize_t>(bytes.size())) {
    std::perror("memfd write");
    std::abort();
  }
  return path_;
}

const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/recserve-fuzz-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    auto* path = new std::string(pattern);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(*dir, ignored);
    });
    return path;
  }();
  return *dir;
}

void WriteBytes(const std::string& path, absl::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr ||
      std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

void AppendColdItems(int32_t count, Dataset* train, ItemCatalog* catalog,
                     FactorMatrix* embeddings, MfModel* model,
                     ItemAttributeModel* attributes) {
  const int32_t warm = train->num_items();
  FUZZ_CHECK(count > 0 && warm > 0 && embeddings->rows() == warm);
  FUZZ_CHECK(model == nullptr || model->num_items() == warm);
  std::vector<std::string> warm_ids;
  for (int32_t i = 0; i < warm; ++i) warm_ids.emplace_back(train->items.Id(i));
  const ItemAttributeSources sources{.items = catalog};
  attributes->spec =
      BuildAttributeSpec(warm_ids, sources, ItemAttributeOptions{});
  const int32_t d = attributes->spec.size();
  FUZZ_CHECK(d > 0);

  // Seeded random maps: what a fit would give matters less here than rows
  // that differ per attribute.
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  const auto random_map = [&](int64_t width) {
    AttributeMap map;
    map.weights.resize(d + 1, width);
    for (int64_t i = 0; i < map.weights.size(); ++i) {
      map.weights.data()[i] = uniform(rng);
    }
    map.reg = 1.0f;
    return map;
  };
  const int32_t k = static_cast<int32_t>(embeddings->cols());
  attributes->retrieval = random_map(k);
  attributes->rating.reset();
  if (model != nullptr) attributes->rating = random_map(model->factors() + 1);

  embeddings->conservativeResize(warm + count, Eigen::NoChange);
  if (model != nullptr) {
    model->item_factors.conservativeResize(warm + count, Eigen::NoChange);
    model->item_bias.conservativeResize(warm + count);
  }
  for (int32_t j = 0; j < count; ++j) {
    const int32_t item = warm + j;
    const std::string id = absl::StrCat("i", item);
    FUZZ_CHECK(train->items.GetOrAdd(id) == item);
    ItemMetadata m;
    m.title = absl::StrCat("New ", id, " part \xe2\x98\x85");
    const auto twin = catalog->find(warm_ids[j % warm]);
    if (twin != catalog->end()) m.genres = twin->second.genres;
    if (j % 2 == 1) m.genres.push_back("New");
    (*catalog)[id] = std::move(m);

    const AttributeRow row = Featurize(attributes->spec, id, sources);
    std::vector<float> out(k);
    attributes->retrieval.Apply(row, absl::MakeSpan(out));
    for (int32_t c = 0; c < k; ++c) (*embeddings)(item, c) = out[c];
    if (model != nullptr) {
      const int32_t factors = model->factors();
      std::vector<float> rating(factors + 1);
      attributes->rating->Apply(row, absl::MakeSpan(rating));
      for (int32_t c = 0; c < factors; ++c) {
        model->item_factors(item, c) = rating[c];
      }
      model->item_bias[item] = rating[factors];
    }
  }
}

std::string PublishTinySnapshot(const std::string& root, bool fold_in,
                                int32_t cold_items) {
  // Cold items need format 5, which needs fold-in parameters.
  FUZZ_CHECK(cold_items >= 0 && (cold_items == 0 || fold_in));
  testutil::TinyModel tiny = testutil::MakeTinyModel(7, 10, 4);
  RetrievalModel retrieval = testutil::MakeTinyRetrieval(7, 10, 3);
  ItemAttributeModel attributes;
  if (cold_items > 0) {
    AppendColdItems(cold_items, &tiny.train, &tiny.catalog,
                    &retrieval.item_factors, &tiny.model, &attributes);
  }
  SnapshotContents contents;
  contents.train = &tiny.train;
  contents.model = &tiny.model;
  contents.items = &tiny.catalog;
  contents.algo = "als";
  contents.retrieval = &retrieval;
  contents.ranking = {.candidates = 5, .blend_weight = 0.25f};
  const FoldInParams params = {.rating = RatingUserPrior::Ridge(4, 0.1f, 0.1f),
                               .retrieval = {.reg = 0.1f,
                                             .alpha = 1.0f,
                                             .unobserved_weight = 1.0f,
                                             .recency_weight = 10.0f,
                                             .recency_horizon = 3.0f}};
  if (fold_in) contents.fold_in = &params;
  if (cold_items > 0) {
    contents.cold_items = cold_items;
    contents.attributes = &attributes;
  }
  const absl::StatusOr<std::string> version = PublishSnapshot(root, contents);
  if (!version.ok())
    std::fprintf(stderr, "%s\n", version.status().ToString().c_str());
  FUZZ_CHECK(version.ok());
  return *version;
}

std::string PublishTinyImplicitSnapshot(const std::string& root,
                                        int32_t cold_items) {
  FUZZ_CHECK(cold_items >= 0);
  testutil::ImplicitFixture fixture = testutil::MakeImplicitFixture(7, 12, 3);
  ItemAttributeModel attributes;
  if (cold_items > 0) {
    AppendColdItems(cold_items, &fixture.train, &fixture.catalog,
                    &fixture.retrieval.item_factors, nullptr, &attributes);
  }
  SnapshotContents contents = fixture.Contents();
  if (cold_items > 0) {
    contents.cold_items = cold_items;
    contents.attributes = &attributes;
  }
  const absl::StatusOr<std::string> version = PublishSnapshot(root, contents);
  if (!version.ok())
    std::fprintf(stderr, "%s\n", version.status().ToString().c_str());
  FUZZ_CHECK(version.ok());
  return *version;
}

}  // namespace recserve::fuzz
