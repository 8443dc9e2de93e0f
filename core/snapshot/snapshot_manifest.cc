#include "core/snapshot/snapshot_manifest.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

using nlohmann::json;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest.json: field '", field, "' ", what));
}

// The shortest decimal that reads back as `f`, as a double, so that
// manifests say 3.53 rather than 3.5299999713897705.
double FloatForJson(float f) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), f);
  if (ec != std::errc()) return f;
  *end = '\0';
  double d = std::strtod(buf, nullptr);
  return static_cast<float>(d) == f ? d : static_cast<double>(f);
}

absl::Status CheckFormatVersion(int version) {
  if (version >= kMinSnapshotFormatVersion &&
      version <= kMaxSnapshotFormatVersion) {
    return absl::OkStatus();
  }
  std::vector<int> supported;
  for (int v = kMinSnapshotFormatVersion; v < kMaxSnapshotFormatVersion; ++v) {
    supported.push_back(v);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "manifest.json: unsupported format_version ", version,
      "; this build reads format_version ", absl::StrJoin(supported, ", "),
      supported.empty() ? "" : " and ", kMaxSnapshotFormatVersion));
}

bool IsFinite(const json& v) {
  return v.is_number() && std::isfinite(v.get<double>());
}

absl::Status ValidateMetrics(const json& metrics, const std::string& path) {
  if (!metrics.is_object()) return FieldError(path, "is not an object");
  for (const auto& [key, value] : metrics.items()) {
    std::string sub = absl::StrCat(path, ".", key);
    if (value.is_object()) {
      RETURN_IF_ERROR(ValidateMetrics(value, sub));
    } else if (!value.is_null() && !IsFinite(value)) {
      return FieldError(sub, "is not a finite number, null or object");
    }
  }
  return absl::OkStatus();
}

bool IsPlainFileName(absl::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name != "manifest.json" && name.find('/') == absl::string_view::npos &&
         name.find('\0') == absl::string_view::npos;
}

// Reads fields off one JSON object, remembering which it has seen so that
// unknown ones can be reported.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  absl::StatusOr<const json*> Get(absl::string_view key) {
    std::string k(key);
    seen_.insert(k);
    auto it = object_.find(k);
    if (it == object_.end()) return FieldError(Path(key), "is missing");
    return &*it;
  }
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t max) {
    ASSIGN_OR_RETURN(const json* v, Get(key));
    if (!v->is_number_integer()) {
      return FieldError(Path(key), "is not an integer");
    }
    if (v->is_number_unsigned() ? v->get<uint64_t>() > uint64_t(max)
                                : v->get<int64_t>() < 0) {
      return FieldError(Path(key),
                        absl::StrCat("is out of range [0, ", max, "]"));
    }
    return v->get<int64_t>();
  }
  absl::StatusOr<double> GetNumber(absl::string_view key) {
    ASSIGN_OR_RETURN(const json* v, Get(key));
    if (!v->is_number()) return FieldError(Path(key), "is not a number");
    double d = v->get<double>();
    if (!std::isfinite(d) || std::abs(d) > std::numeric_limits<float>::max()) {
      return FieldError(Path(key), "is not a finite float");
    }
    return d;
  }
  absl::StatusOr<std::string> GetString(absl::string_view key) {
    ASSIGN_OR_RETURN(const json* v, Get(key));
    if (!v->is_string()) return FieldError(Path(key), "is not a string");
    return v->get<std::string>();
  }
  absl::Status CheckNoUnknownFields() const {
    for (const auto& [key, value] : object_.items()) {
      if (!seen_.count(key)) return FieldError(Path(key), "is not known");
    }
    return absl::OkStatus();
  }
  std::string Path(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> seen_;
};

absl::StatusOr<uint32_t> ParseCrcHex(const std::string& s,
                                     const std::string& path) {
  uint32_t crc = 0;
  bool ok = s.size() == 8;
  for (char c : s) {
    ok = ok && (absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'));
  }
  if (!ok || !absl::SimpleHexAtoi(s, &crc)) {
    return FieldError(path, "is not 8 lowercase hex digits");
  }
  return crc;
}

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

absl::StatusOr<SnapshotRetrievalInfo> ParseRetrieval(ObjectReader& root) {
  ASSIGN_OR_RETURN(const json* object, root.Get("retrieval"));
  if (!object->is_object()) return FieldError("retrieval", "is not an object");
  ObjectReader r(*object, "retrieval");
  SnapshotRetrievalInfo info;
  ASSIGN_OR_RETURN(int64_t factors, r.GetInt("factors", kInt32Max));
  info.factors = static_cast<int32_t>(factors);
  ASSIGN_OR_RETURN(const json* params, r.Get("params"));
  info.params = *params;
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return info;
}

absl::StatusOr<TwoStageOptions> ParseRanking(ObjectReader& root) {
  ASSIGN_OR_RETURN(const json* object, root.Get("ranking"));
  if (!object->is_object()) return FieldError("ranking", "is not an object");
  ObjectReader r(*object, "ranking");
  TwoStageOptions ranking;
  ASSIGN_OR_RETURN(int64_t candidates, r.GetInt("candidates", kInt32Max));
  ranking.candidates = static_cast<int32_t>(candidates);
  ASSIGN_OR_RETURN(double blend_weight, r.GetNumber("blend_weight"));
  ranking.blend_weight = static_cast<float>(blend_weight);
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return ranking;
}

absl::StatusOr<Eigen::VectorXf> ParseFloatArray(ObjectReader& r,
                                                absl::string_view key) {
  ASSIGN_OR_RETURN(const json* array, r.Get(key));
  if (!array->is_array()) return FieldError(r.Path(key), "is not an array");
  Eigen::VectorXf out(static_cast<Eigen::Index>(array->size()));
  for (size_t i = 0; i < array->size(); ++i) {
    const json& v = (*array)[i];
    if (!v.is_number()) {
      return FieldError(absl::StrCat(r.Path(key), "[", i, "]"),
                        "is not a number");
    }
    out[static_cast<Eigen::Index>(i)] = static_cast<float>(v.get<double>());
  }
  return out;
}

absl::StatusOr<RatingUserPrior> ParseRatingPrior(ObjectReader& r) {
  ASSIGN_OR_RETURN(const json* rating, r.Get("rating"));
  if (!rating->is_object()) {
    return FieldError("fold_in.rating", "is not an object");
  }
  ObjectReader rr(*rating, "fold_in.rating");
  RatingUserPrior prior;
  ASSIGN_OR_RETURN(prior.mean, ParseFloatArray(rr, "mean"));
  ASSIGN_OR_RETURN(prior.precision, ParseFloatArray(rr, "precision"));
  ASSIGN_OR_RETURN(const json* scales, rr.Get("scales_with_count"));
  if (!scales->is_boolean()) {
    return FieldError("fold_in.rating.scales_with_count", "is not a boolean");
  }
  prior.scales_with_count = scales->get<bool>();
  RETURN_IF_ERROR(rr.CheckNoUnknownFields());
  return prior;
}

absl::StatusOr<FoldInParams> ParseFoldIn(ObjectReader& root, int format_version,
                                         Feedback feedback) {
  ASSIGN_OR_RETURN(const json* object, root.Get("fold_in"));
  if (!object->is_object()) return FieldError("fold_in", "is not an object");
  ObjectReader r(*object, "fold_in");
  FoldInParams params;
  if (feedback == Feedback::kImplicit) {
    if (object->contains("rating")) {
      return FieldError("fold_in.rating",
                        "is not allowed with implicit feedback (no rating "
                        "model)");
    }
  } else {
    ASSIGN_OR_RETURN(params.rating, ParseRatingPrior(r));
  }
  ASSIGN_OR_RETURN(const json* retrieval, r.Get("retrieval"));
  if (!retrieval->is_object()) {
    return FieldError("fold_in.retrieval", "is not an object");
  }
  ObjectReader rt(*retrieval, "fold_in.retrieval");
  ASSIGN_OR_RETURN(const double reg, rt.GetNumber("reg"));
  ASSIGN_OR_RETURN(const double alpha, rt.GetNumber("alpha"));
  ASSIGN_OR_RETURN(const double unobserved, rt.GetNumber("unobserved_weight"));
  params.retrieval.reg = static_cast<float>(reg);
  params.retrieval.alpha = static_cast<float>(alpha);
  params.retrieval.unobserved_weight = static_cast<float>(unobserved);
  if (format_version >= kFeedbackSnapshotFormatVersion) {
    ASSIGN_OR_RETURN(const std::string scale, rt.GetString("scale"));
    absl::StatusOr<ConfidenceScale> parsed = ParseConfidenceScale(scale);
    if (!parsed.ok()) {
      return FieldError(
          "fold_in.retrieval.scale",
          absl::StrCat("is '", scale, "'; expected 'linear' or 'log'"));
    }
    params.retrieval.scale = *parsed;
    ASSIGN_OR_RETURN(const double epsilon, rt.GetNumber("epsilon"));
    ASSIGN_OR_RETURN(const double exponent, rt.GetNumber("reg_exponent"));
    params.retrieval.epsilon = static_cast<float>(epsilon);
    params.retrieval.reg_exponent = static_cast<float>(exponent);
  }
  if (format_version >= kRecencySnapshotFormatVersion) {
    ASSIGN_OR_RETURN(const double weight, rt.GetNumber("recency_weight"));
    ASSIGN_OR_RETURN(const double horizon, rt.GetNumber("recency_horizon"));
    params.retrieval.recency_weight = static_cast<float>(weight);
    params.retrieval.recency_horizon = static_cast<float>(horizon);
  } else {
    for (const char* key : {"recency_weight", "recency_horizon"}) {
      if (retrieval->contains(key)) {
        return FieldError(rt.Path(key),
                          absl::StrCat("needs format_version ",
                                       kRecencySnapshotFormatVersion));
      }
    }
  }
  RETURN_IF_ERROR(rt.CheckNoUnknownFields());
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return params;
}

absl::StatusOr<EventWeights> ParseEvents(ObjectReader& root) {
  ASSIGN_OR_RETURN(const json* object, root.Get("events"));
  if (!object->is_object()) return FieldError("events", "is not an object");
  ObjectReader r(*object, "events");
  EventWeights events;
  ASSIGN_OR_RETURN(const json* weights, r.Get("weights"));
  if (!weights->is_object()) {
    return FieldError("events.weights", "is not an object");
  }
  for (const auto& [name, weight] : weights->items()) {
    if (!weight.is_number()) {
      return FieldError(absl::StrCat("events.weights.", name),
                        "is not a number");
    }
    events.weights[name] = static_cast<float>(weight.get<double>());
  }
  ASSIGN_OR_RETURN(const json* negative, r.Get("negative"));
  if (!negative->is_array()) {
    return FieldError("events.negative", "is not an array");
  }
  for (size_t i = 0; i < negative->size(); ++i) {
    const json& name = (*negative)[i];
    if (!name.is_string()) {
      return FieldError(absl::StrCat("events.negative[", i, "]"),
                        "is not a string");
    }
    if (!events.negative.insert(name.get<std::string>()).second) {
      return FieldError(
          absl::StrCat("events.negative[", i, "]"),
          absl::StrCat("repeats '", name.get<std::string>(), "'"));
    }
  }
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return events;
}

absl::StatusOr<SnapshotAttributesInfo> ParseAttributes(ObjectReader& root) {
  ASSIGN_OR_RETURN(const json* object, root.Get("attributes"));
  if (!object->is_object()) {
    return FieldError("attributes", "is not an object");
  }
  ObjectReader r(*object, "attributes");
  SnapshotAttributesInfo info;
  ASSIGN_OR_RETURN(const json* options, r.Get("options"));
  if (!options->is_object()) {
    return FieldError("attributes.options", "is not an object");
  }
  ObjectReader o(*options, "attributes.options");
  ASSIGN_OR_RETURN(const int64_t years,
                   o.GetInt("year_bucket_years", kInt32Max));
  ASSIGN_OR_RETURN(const int64_t words, o.GetInt("max_title_words", kInt32Max));
  ASSIGN_OR_RETURN(const int64_t tags, o.GetInt("max_tags", kInt32Max));
  ASSIGN_OR_RETURN(const int64_t min_items, o.GetInt("min_items", kInt32Max));
  RETURN_IF_ERROR(o.CheckNoUnknownFields());
  info.options.year_bucket_years = static_cast<int32_t>(years);
  info.options.max_title_words = static_cast<int32_t>(words);
  info.options.max_tags = static_cast<int32_t>(tags);
  info.options.min_items = static_cast<int32_t>(min_items);
  ASSIGN_OR_RETURN(const json* names, r.Get("names"));
  if (!names->is_array()) {
    return FieldError("attributes.names", "is not an array");
  }
  info.names.reserve(names->size());
  for (size_t i = 0; i < names->size(); ++i) {
    const json& name = (*names)[i];
    if (!name.is_string()) {
      return FieldError(absl::StrCat("attributes.names[", i, "]"),
                        "is not a string");
    }
    info.names.push_back(name.get<std::string>());
  }
  ASSIGN_OR_RETURN(const double rating_reg, r.GetNumber("rating_reg"));
  ASSIGN_OR_RETURN(const double retrieval_reg, r.GetNumber("retrieval_reg"));
  info.rating_reg = static_cast<float>(rating_reg);
  info.retrieval_reg = static_cast<float>(retrieval_reg);
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return info;
}

absl::StatusOr<SnapshotItemItemInfo> ParseItemItem(ObjectReader& root) {
  ASSIGN_OR_RETURN(const json* object, root.Get("item_item"));
  if (!object->is_object()) return FieldError("item_item", "is not an object");
  ObjectReader r(*object, "item_item");
  SnapshotItemItemInfo info;
  ASSIGN_OR_RETURN(const int64_t items, r.GetInt("items", kInt32Max));
  info.items = static_cast<int32_t>(items);
  ASSIGN_OR_RETURN(const double reg, r.GetNumber("reg"));
  ASSIGN_OR_RETURN(const double weight, r.GetNumber("recency_weight"));
  ASSIGN_OR_RETURN(const double horizon, r.GetNumber("recency_horizon"));
  info.params.reg = static_cast<float>(reg);
  info.params.recency_weight = static_cast<float>(weight);
  info.params.recency_horizon = static_cast<float>(horizon);
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return info;
}

// Present means not empty: an absent field is how "no ordinal output" is
// written, so an empty one is refused rather than read as none.
absl::StatusOr<OrdinalOutput> ParseOrdinalOutput(ObjectReader& root) {
  ASSIGN_OR_RETURN(const json* object, root.Get("ordinal_output"));
  if (!object->is_object()) {
    return FieldError("ordinal_output", "is not an object");
  }
  ObjectReader r(*object, "ordinal_output");
  OrdinalOutput output;
  // Finiteness and order are ValidateManifest's (ValidateOrdinalOutput).
  ASSIGN_OR_RETURN(const Eigen::VectorXf cutpoints,
                   ParseFloatArray(r, "cutpoints"));
  if (cutpoints.size() == 0) {
    return FieldError("ordinal_output.cutpoints",
                      "is empty; a snapshot without an ordinal output has no "
                      "'ordinal_output'");
  }
  output.cutpoints.assign(cutpoints.data(),
                          cutpoints.data() + cutpoints.size());
  ASSIGN_OR_RETURN(const double stddev, r.GetNumber("stddev"));
  output.stddev = static_cast<float>(stddev);
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  return output;
}

json FloatArrayForJson(const Eigen::VectorXf& v) {
  json out = json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) out.push_back(FloatForJson(v[i]));
  return out;
}

absl::StatusOr<SnapshotManifest> FromJson(const json& root) {
  if (!root.is_object()) {
    return absl::InvalidArgumentError("manifest.json: not a JSON object");
  }
  ObjectReader r(root, "");
  // format_version first, so that a newer manifest is reported as such
  // rather than as unknown fields.
  SnapshotManifest m;
  ASSIGN_OR_RETURN(int64_t format_version, r.GetInt("format_version", 1000));
  m.format_version = static_cast<int>(format_version);
  RETURN_IF_ERROR(CheckFormatVersion(m.format_version));
  ASSIGN_OR_RETURN(m.model_kind, r.GetString("model_kind"));
  ASSIGN_OR_RETURN(m.algo, r.GetString("algo"));
  ASSIGN_OR_RETURN(int64_t factors, r.GetInt("factors", kInt32Max));
  ASSIGN_OR_RETURN(int64_t users, r.GetInt("num_users", kInt32Max));
  ASSIGN_OR_RETURN(int64_t items, r.GetInt("num_items", kInt32Max));
  ASSIGN_OR_RETURN(
      m.num_ratings,
      r.GetInt("num_ratings", std::numeric_limits<int64_t>::max()));
  m.factors = static_cast<int32_t>(factors);
  m.num_users = static_cast<int32_t>(users);
  m.num_items = static_cast<int32_t>(items);

  ASSIGN_OR_RETURN(const json* scale, r.Get("rating_scale"));
  if (!scale->is_object())
    return FieldError("rating_scale", "is not an object");
  ObjectReader sr(*scale, "rating_scale");
  ASSIGN_OR_RETURN(double min, sr.GetNumber("min"));
  ASSIGN_OR_RETURN(double max, sr.GetNumber("max"));
  ASSIGN_OR_RETURN(double step, sr.GetNumber("step"));
  RETURN_IF_ERROR(sr.CheckNoUnknownFields());
  m.rating_scale = RatingScale{static_cast<float>(min), static_cast<float>(max),
                               static_cast<float>(step)};
  ASSIGN_OR_RETURN(double mean, r.GetNumber("global_mean"));
  m.global_mean = static_cast<float>(mean);

  ASSIGN_OR_RETURN(const json* params, r.Get("training_params"));
  m.training_params = *params;
  ASSIGN_OR_RETURN(const json* metrics, r.Get("metrics"));
  m.metrics = *metrics;
  ASSIGN_OR_RETURN(m.data_fingerprint, r.GetString("data_fingerprint"));
  ASSIGN_OR_RETURN(m.created_at, r.GetString("created_at"));
  ASSIGN_OR_RETURN(m.version, r.GetString("version"));

  ASSIGN_OR_RETURN(const json* files, r.Get("files"));
  if (!files->is_object()) return FieldError("files", "is not an object");
  for (const auto& [name, entry] : files->items()) {
    std::string path = absl::StrCat("files.", name);
    if (!entry.is_object()) return FieldError(path, "is not an object");
    ObjectReader fr(entry, path);
    SnapshotFileInfo info;
    ASSIGN_OR_RETURN(int64_t bytes,
                     fr.GetInt("bytes", std::numeric_limits<int64_t>::max()));
    info.bytes = static_cast<uint64_t>(bytes);
    ASSIGN_OR_RETURN(std::string crc, fr.GetString("crc32"));
    ASSIGN_OR_RETURN(info.crc32, ParseCrcHex(crc, fr.Path("crc32")));
    RETURN_IF_ERROR(fr.CheckNoUnknownFields());
    m.files.emplace(name, info);
  }
  if (m.format_version >= kRetrievalSnapshotFormatVersion) {
    ASSIGN_OR_RETURN(m.retrieval, ParseRetrieval(r));
    ASSIGN_OR_RETURN(m.ranking, ParseRanking(r));
  } else {
    for (const char* key : {"retrieval", "ranking"}) {
      if (root.contains(key)) {
        return FieldError(key, absl::StrCat("needs format_version ",
                                            kRetrievalSnapshotFormatVersion));
      }
    }
  }
  if (m.format_version >= kFeedbackSnapshotFormatVersion) {
    ASSIGN_OR_RETURN(const std::string feedback, r.GetString("feedback"));
    if (!ParseFeedback(feedback, &m.feedback) ||
        m.feedback == Feedback::kAuto) {
      return FieldError("feedback",
                        absl::StrCat("is '", feedback,
                                     "'; expected 'explicit' or 'implicit'"));
    }
    if (m.feedback == Feedback::kImplicit) {
      ASSIGN_OR_RETURN(m.events, ParseEvents(r));
    } else if (root.contains("events")) {
      return FieldError("events", "is only allowed with implicit feedback");
    }
  } else {
    for (const char* key : {"feedback", "events"}) {
      if (root.contains(key)) {
        return FieldError(key, absl::StrCat("needs format_version ",
                                            kFeedbackSnapshotFormatVersion));
      }
    }
  }
  if (m.format_version >= kFoldInSnapshotFormatVersion) {
    ASSIGN_OR_RETURN(m.fold_in, ParseFoldIn(r, m.format_version, m.feedback));
  } else if (root.contains("fold_in")) {
    return FieldError("fold_in", absl::StrCat("needs format_version ",
                                              kFoldInSnapshotFormatVersion));
  }
  if (m.format_version >= kColdItemsSnapshotFormatVersion) {
    ASSIGN_OR_RETURN(const int64_t cold, r.GetInt("cold_items", kInt32Max));
    m.cold_items = static_cast<int32_t>(cold);
    if (root.contains("attributes")) {
      ASSIGN_OR_RETURN(m.attributes, ParseAttributes(r));
    }
  } else {
    for (const char* key : {"cold_items", "attributes"}) {
      if (root.contains(key)) {
        return FieldError(key, absl::StrCat("needs format_version ",
                                            kColdItemsSnapshotFormatVersion));
      }
    }
  }
  if (m.format_version >= kItemItemSnapshotFormatVersion) {
    if (root.contains("item_item")) {
      ASSIGN_OR_RETURN(m.item_item, ParseItemItem(r));
    }
  } else if (root.contains("item_item")) {
    return FieldError(
        "item_item",
        absl::StrCat("needs format_version ", kItemItemSnapshotFormatVersion));
  }
  if (m.format_version >= kOrdinalSnapshotFormatVersion) {
    if (root.contains("ordinal_output")) {
      ASSIGN_OR_RETURN(m.ordinal_output, ParseOrdinalOutput(r));
    }
  } else if (root.contains("ordinal_output")) {
    return FieldError(
        "ordinal_output",
        absl::StrCat("needs format_version ", kOrdinalSnapshotFormatVersion));
  }
  RETURN_IF_ERROR(r.CheckNoUnknownFields());
  RETURN_IF_ERROR(ValidateManifest(m));
  return m;
}

absl::Status ValidateFormat8Fields(const SnapshotManifest& m) {
  if (m.ordinal_output.empty()) return absl::OkStatus();
  if (m.format_version < kOrdinalSnapshotFormatVersion) {
    return FieldError(
        "ordinal_output",
        absl::StrCat("needs format_version ", kOrdinalSnapshotFormatVersion));
  }
  if (m.feedback == Feedback::kImplicit) {
    return FieldError("ordinal_output",
                      "is not allowed with implicit feedback (no rating "
                      "model)");
  }
  if (absl::Status s = ValidateOrdinalOutput(m.ordinal_output, m.rating_scale);
      !s.ok()) {
    return FieldError("ordinal_output",
                      absl::StrCat("is invalid (", s.message(), ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFormat7Fields(const SnapshotManifest& m) {
  if (!m.item_item.has_value()) return absl::OkStatus();
  if (m.format_version < kItemItemSnapshotFormatVersion) {
    return FieldError(
        "item_item",
        absl::StrCat("needs format_version ", kItemItemSnapshotFormatVersion));
  }
  const SnapshotItemItemInfo& ii = *m.item_item;
  const int32_t warm = m.num_items - m.cold_items;
  if (ii.items < 1 || ii.items > warm) {
    return FieldError("item_item.items",
                      absl::StrCat("is ", ii.items, "; must be in [1, ", warm,
                                   "] (num_items - cold_items: the items with "
                                   "interactions)"));
  }
  // Written as !(in range) so that NaN fails too.
  if (!std::isfinite(ii.params.reg) || !(ii.params.reg > 0.0f)) {
    return FieldError(
        "item_item.reg",
        absl::StrCat("is ", ii.params.reg, "; must be finite and > 0"));
  }
  if (!std::isfinite(ii.params.recency_weight) ||
      !(ii.params.recency_weight >= 0.0f)) {
    return FieldError("item_item.recency_weight",
                      absl::StrCat("is ", ii.params.recency_weight,
                                   "; must be finite and >= 0"));
  }
  if (!std::isfinite(ii.params.recency_horizon) ||
      !(ii.params.recency_horizon > 0.0f)) {
    return FieldError("item_item.recency_horizon",
                      absl::StrCat("is ", ii.params.recency_horizon,
                                   "; must be finite and > 0"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFormat5Fields(const SnapshotManifest& m) {
  if (m.format_version < kColdItemsSnapshotFormatVersion) {
    if (m.cold_items != 0) {
      return FieldError("cold_items",
                        absl::StrCat("needs format_version ",
                                     kColdItemsSnapshotFormatVersion));
    }
    if (m.attributes.has_value()) {
      return FieldError("attributes",
                        absl::StrCat("needs format_version ",
                                     kColdItemsSnapshotFormatVersion));
    }
    return absl::OkStatus();
  }
  if (m.cold_items < 0 || m.cold_items > m.num_items) {
    return FieldError("cold_items",
                      absl::StrCat("is ", m.cold_items, "; must be in [0, ",
                                   m.num_items, "] (num_items)"));
  }
  if (!m.attributes.has_value()) {
    if (m.cold_items > 0) {
      return FieldError("attributes",
                        "is missing; it is required when cold_items > 0");
    }
    return absl::OkStatus();
  }
  const SnapshotAttributesInfo& a = *m.attributes;
  absl::StatusOr<AttributeSpec> spec =
      AttributeSpec::FromNames(a.options, a.names);
  if (!spec.ok()) {
    return FieldError("attributes", spec.status().message());
  }
  const bool rating_model = m.feedback != Feedback::kImplicit;
  if (!std::isfinite(a.rating_reg) || a.rating_reg < 0.0f ||
      (!rating_model && a.rating_reg != 0.0f)) {
    return FieldError(
        "attributes.rating_reg",
        absl::StrCat("is ", a.rating_reg,
                     rating_model ? "; must be finite and >= 0"
                                  : "; must be 0 without a rating model"));
  }
  if (!std::isfinite(a.retrieval_reg) || a.retrieval_reg < 0.0f) {
    return FieldError(
        "attributes.retrieval_reg",
        absl::StrCat("is ", a.retrieval_reg, "; must be finite and >= 0"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFormat3Fields(const SnapshotManifest& m) {
  if (m.format_version < kFoldInSnapshotFormatVersion) {
    if (m.fold_in.has_value()) {
      return FieldError("fold_in", absl::StrCat("needs format_version ",
                                                kFoldInSnapshotFormatVersion));
    }
    return absl::OkStatus();
  }
  if (!m.fold_in.has_value()) return FieldError("fold_in", "is missing");
  absl::Status valid = ValidateFoldInParams(
      *m.fold_in,
      m.feedback == Feedback::kImplicit ? kNoRatingModel : m.factors);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.json: ", valid.message()));
  }
  if (m.format_version < kRecencySnapshotFormatVersion &&
      HasRecency(m.fold_in->retrieval)) {
    return FieldError("fold_in.retrieval.recency_weight",
                      absl::StrCat("is ", m.fold_in->retrieval.recency_weight,
                                   "; recency weighting needs format_version ",
                                   kRecencySnapshotFormatVersion));
  }
  if (m.format_version < kFeedbackSnapshotFormatVersion &&
      !HasDefaultConfidence(m.fold_in->retrieval)) {
    return FieldError("fold_in.retrieval",
                      absl::StrCat("has a scale, epsilon or reg_exponent "
                                   "other than linear, 1, 0, which needs "
                                   "format_version ",
                                   kFeedbackSnapshotFormatVersion));
  }
  return absl::OkStatus();
}

absl::Status ValidateEvents(const EventWeights& events) {
  for (const auto& [name, weight] : events.weights) {
    if (name.empty()) return FieldError("events.weights", "has an empty name");
    if (!std::isfinite(weight) || !(weight > 0.0f) ||
        weight > kMaxEventWeight) {
      return FieldError(absl::StrCat("events.weights.", name),
                        absl::StrCat("is ", weight, "; must be in (0, 1e6]"));
    }
  }
  for (const std::string& name : events.negative) {
    if (name.empty()) {
      return FieldError("events.negative", "has an empty name");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFormat4Fields(const SnapshotManifest& m) {
  if (m.format_version < kFeedbackSnapshotFormatVersion) {
    if (m.feedback != Feedback::kExplicit) {
      return FieldError("feedback",
                        absl::StrCat("needs format_version ",
                                     kFeedbackSnapshotFormatVersion));
    }
    if (m.events.has_value()) {
      return FieldError("events", absl::StrCat("needs format_version ",
                                               kFeedbackSnapshotFormatVersion));
    }
    return absl::OkStatus();
  }
  if (m.feedback != Feedback::kExplicit && m.feedback != Feedback::kImplicit) {
    return FieldError("feedback", "must be 'explicit' or 'implicit'");
  }
  if (m.feedback == Feedback::kExplicit) {
    if (m.events.has_value()) {
      return FieldError("events", "is only allowed with implicit feedback");
    }
    return absl::OkStatus();
  }
  if (m.factors != 0) {
    return FieldError("factors",
                      absl::StrCat("is ", m.factors,
                                   "; an implicit snapshot has no rating "
                                   "model, so it must be 0"));
  }
  if (!m.events.has_value()) return FieldError("events", "is missing");
  return ValidateEvents(*m.events);
}

absl::Status ValidateFormat2Fields(const SnapshotManifest& m) {
  if (m.format_version < kRetrievalSnapshotFormatVersion) {
    if (m.retrieval.has_value()) {
      return FieldError("retrieval",
                        absl::StrCat("needs format_version ",
                                     kRetrievalSnapshotFormatVersion));
    }
    if (m.ranking.has_value()) {
      return FieldError("ranking",
                        absl::StrCat("needs format_version ",
                                     kRetrievalSnapshotFormatVersion));
    }
    return absl::OkStatus();
  }
  if (!m.retrieval.has_value()) return FieldError("retrieval", "is missing");
  if (m.retrieval->factors < 1) {
    return FieldError("retrieval.factors", "must be at least 1");
  }
  if (!m.retrieval->params.is_object()) {
    return FieldError("retrieval.params", "is not an object");
  }
  if (!m.ranking.has_value()) return FieldError("ranking", "is missing");
  if (m.ranking->candidates < 1) {
    return FieldError(
        "ranking.candidates",
        absl::StrCat("is ", m.ranking->candidates, "; must be at least 1"));
  }
  // Written as !(in range) so that NaN fails too.
  if (!(m.ranking->blend_weight >= 0.0f && m.ranking->blend_weight <= 1.0f)) {
    return FieldError(
        "ranking.blend_weight",
        absl::StrCat("is ", m.ranking->blend_weight, "; must be in [0, 1]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateManifest(const SnapshotManifest& m) {
  RETURN_IF_ERROR(CheckFormatVersion(m.format_version));
  if (m.model_kind != kBiasedMfModelKind) {
    return FieldError("model_kind",
                      absl::StrCat("is '", m.model_kind, "'; only '",
                                   kBiasedMfModelKind, "' is supported"));
  }
  if (m.algo.empty()) return FieldError("algo", "is empty");
  if (m.factors < 0) return FieldError("factors", "is negative");
  if (m.num_users < 0) return FieldError("num_users", "is negative");
  if (m.num_items < 0) return FieldError("num_items", "is negative");
  if (m.num_ratings < 0) return FieldError("num_ratings", "is negative");
  const RatingScale& s = m.rating_scale;
  if (!std::isfinite(s.min) || !std::isfinite(s.max) ||
      !std::isfinite(s.step) || s.min > s.max || !(s.step > 0)) {
    return FieldError("rating_scale", "needs finite min <= max and step > 0");
  }
  if (!std::isfinite(m.global_mean)) {
    return FieldError("global_mean", "is not finite");
  }
  if (!m.training_params.is_object()) {
    return FieldError("training_params", "is not an object");
  }
  RETURN_IF_ERROR(ValidateMetrics(m.metrics, "metrics"));
  if (m.data_fingerprint.empty()) {
    return FieldError("data_fingerprint", "is empty");
  }
  absl::Time t;
  std::string err;
  if (!absl::EndsWith(m.created_at, "Z") ||
      !absl::ParseTime(absl::RFC3339_full, m.created_at, &t, &err)) {
    return FieldError(
        "created_at",
        absl::StrCat("is '", m.created_at, "', not an RFC 3339 UTC time"));
  }
  if (ParseVersionName(m.version) < 0) {
    return FieldError("version", absl::StrCat("is '", m.version,
                                              "', not a name like v000001"));
  }
  for (const auto& [name, info] : m.files) {
    if (!IsPlainFileName(name)) {
      return FieldError(absl::StrCat("files.", name),
                        "is not a plain file name");
    }
  }
  RETURN_IF_ERROR(ValidateFormat2Fields(m));
  RETURN_IF_ERROR(ValidateFormat4Fields(m));
  RETURN_IF_ERROR(ValidateFormat5Fields(m));
  RETURN_IF_ERROR(ValidateFormat7Fields(m));
  RETURN_IF_ERROR(ValidateFormat8Fields(m));
  return ValidateFormat3Fields(m);
}

std::string ManifestToJson(const SnapshotManifest& m) {
  json files = json::object();
  for (const auto& [name, info] : m.files) {
    files[name] = {{"bytes", info.bytes}, {"crc32", Crc32ToHex(info.crc32)}};
  }
  json root = {
      {"format_version", m.format_version},
      {"model_kind", m.model_kind},
      {"algo", m.algo},
      {"factors", m.factors},
      {"num_users", m.num_users},
      {"num_items", m.num_items},
      {"num_ratings", m.num_ratings},
      {"rating_scale",
       {{"min", FloatForJson(m.rating_scale.min)},
        {"max", FloatForJson(m.rating_scale.max)},
        {"step", FloatForJson(m.rating_scale.step)}}},
      {"global_mean", FloatForJson(m.global_mean)},
      {"training_params", m.training_params},
      {"metrics", m.metrics},
      {"data_fingerprint", m.data_fingerprint},
      {"created_at", m.created_at},
      {"version", m.version},
      {"files", files},
  };
  if (m.retrieval.has_value()) {
    root["retrieval"] = {{"factors", m.retrieval->factors},
                         {"params", m.retrieval->params}};
  }
  if (m.ranking.has_value()) {
    root["ranking"] = {{"candidates", m.ranking->candidates},
                       {"blend_weight", FloatForJson(m.ranking->blend_weight)}};
  }
  if (m.fold_in.has_value()) {
    const FoldInParams& f = *m.fold_in;
    json retrieval = {
        {"reg", FloatForJson(f.retrieval.reg)},
        {"alpha", FloatForJson(f.retrieval.alpha)},
        {"unobserved_weight", FloatForJson(f.retrieval.unobserved_weight)}};
    if (m.format_version >= kFeedbackSnapshotFormatVersion) {
      retrieval["scale"] = ConfidenceScaleName(f.retrieval.scale);
      retrieval["epsilon"] = FloatForJson(f.retrieval.epsilon);
      retrieval["reg_exponent"] = FloatForJson(f.retrieval.reg_exponent);
    }
    if (m.format_version >= kRecencySnapshotFormatVersion) {
      retrieval["recency_weight"] = FloatForJson(f.retrieval.recency_weight);
      retrieval["recency_horizon"] = FloatForJson(f.retrieval.recency_horizon);
    }
    root["fold_in"] = {{"retrieval", retrieval}};
    if (m.feedback != Feedback::kImplicit) {
      root["fold_in"]["rating"] = {
          {"mean", FloatArrayForJson(f.rating.mean)},
          {"precision", FloatArrayForJson(f.rating.precision)},
          {"scales_with_count", f.rating.scales_with_count}};
    }
  }
  if (m.format_version >= kFeedbackSnapshotFormatVersion) {
    root["feedback"] = FeedbackName(m.feedback);
  }
  if (m.events.has_value()) {
    json weights = json::object();
    for (const auto& [name, weight] : m.events->weights) {
      weights[name] = FloatForJson(weight);
    }
    json negative = json::array();
    for (const std::string& name : m.events->negative) negative.push_back(name);
    root["events"] = {{"weights", weights}, {"negative", negative}};
  }
  if (m.format_version >= kColdItemsSnapshotFormatVersion) {
    root["cold_items"] = m.cold_items;
  }
  if (m.attributes.has_value()) {
    const SnapshotAttributesInfo& a = *m.attributes;
    root["attributes"] = {{"options",
                           {{"year_bucket_years", a.options.year_bucket_years},
                            {"max_title_words", a.options.max_title_words},
                            {"max_tags", a.options.max_tags},
                            {"min_items", a.options.min_items}}},
                          {"names", a.names},
                          {"rating_reg", FloatForJson(a.rating_reg)},
                          {"retrieval_reg", FloatForJson(a.retrieval_reg)}};
  }
  if (m.item_item.has_value()) {
    const SnapshotItemItemInfo& ii = *m.item_item;
    root["item_item"] = {
        {"items", ii.items},
        {"reg", FloatForJson(ii.params.reg)},
        {"recency_weight", FloatForJson(ii.params.recency_weight)},
        {"recency_horizon", FloatForJson(ii.params.recency_horizon)}};
  }
  if (!m.ordinal_output.empty()) {
    const std::vector<float>& cutpoints = m.ordinal_output.cutpoints;
    root["ordinal_output"] = {
        {"cutpoints",
         FloatArrayForJson(Eigen::Map<const Eigen::VectorXf>(
             cutpoints.data(), static_cast<Eigen::Index>(cutpoints.size())))},
        {"stddev", FloatForJson(m.ordinal_output.stddev)}};
  }
  return root.dump(2) + "\n";
}

absl::StatusOr<SnapshotManifest> ParseManifest(absl::string_view json_text) {
  // nlohmann keeps the last of duplicate keys; a strict reader rejects them.
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  json::parser_callback_t on_event =
      [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
          keys.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
          if (!keys.empty()) keys.pop_back();
        } else if (event == json::parse_event_t::key && !keys.empty()) {
          if (!keys.back().insert(parsed.get<std::string>()).second &&
              duplicate.empty()) {
            duplicate = parsed.get<std::string>();
          }
        }
        return true;
      };
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end(), on_event,
                       /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.json: not valid JSON: ", e.what()));
  }
  if (!duplicate.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.json: duplicate key '", duplicate, "'"));
  }
  try {
    return FromJson(root);
  } catch (const json::exception& e) {  // not expected: types are checked
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.json: ", e.what()));
  }
}

std::string FormatVersionName(int64_t number) {
  return absl::StrFormat("v%06d", number);
}

int64_t ParseVersionName(absl::string_view name) {
  if (name.size() < 7 || name.size() > 16 || name[0] != 'v') return -1;
  absl::string_view digits = name.substr(1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(c)) return -1;
  }
  int64_t number = 0;
  if (!absl::SimpleAtoi(digits, &number) || number <= 0) return -1;
  // Exactly one spelling per number: "v0000001" is not "v000001".
  if (FormatVersionName(number) != name) return -1;
  return number;
}

std::string NowRfc3339() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(),
                          absl::UTCTimeZone());
}

}  // namespace recserve
