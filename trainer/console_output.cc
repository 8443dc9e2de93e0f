#include "trainer/console_output.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recserve {

namespace {

// The bad lines a reader skipped, on stderr.
void WarnSkippedLines(const std::string& path, int64_t skipped,
                      const std::vector<std::string>& messages) {
  if (skipped == 0) return;
  std::fprintf(stderr, "warning: skipped %lld bad lines in %s, e.g.:\n",
               static_cast<long long>(skipped), path.c_str());
  for (const std::string& message : messages)
    std::fprintf(stderr, "  %s\n", message.c_str());
}

}  // namespace

void PrintRead(const std::string& path, const RatingReadReport& r) {
  const bool events = r.feedback == Feedback::kImplicit;
  std::printf(
      "Read %s (%s): %lld %s", path.c_str(),
      std::string(RatingFormatName(r.format)).c_str(),
      static_cast<long long>(r.ratings),
      events ? "(user, item) interactions of implicit feedback" : "ratings");
  if (r.duplicates_dropped > 0)
    std::printf(", %lld duplicate (user, item) pairs dropped (latest kept)",
                static_cast<long long>(r.duplicates_dropped));
  if (r.merged > 0)
    std::printf(", %lld more lines merged into them (counts summed)",
                static_cast<long long>(r.merged));
  if (r.negative > 0)
    std::printf(", %lld negative", static_cast<long long>(r.negative));
  std::printf("\n");
  if (!r.event_lines.empty()) {
    std::printf("  event lines by type:");
    for (const auto& [event, lines] : r.event_lines)
      std::printf(" %s %lld,", event.c_str(), static_cast<long long>(lines));
    std::printf("\n");
  }
  WarnSkippedLines(path, r.skipped_bad_lines, r.bad_line_messages);
}

namespace {

// The implicit-feedback search, one line per setting it tried.
void PrintRetrievalTrials(const TwoStageTrainingResult& t, int32_t k,
                          double holdout) {
  std::printf(
      "Retrieval settings chosen on validation (a random %g%% of each user's "
      "interactions held out; Recall@%d, popularity %.4f):\n",
      100 * holdout, k, t.popularity_validation_recall);
  for (const RetrievalTrial& x : t.retrieval_trials) {
    std::printf("  %-18s %-8g recall %.4f  ndcg %.4f  %6.1fs\n",
                x.setting.c_str(), x.value, x.recall, x.ndcg, x.seconds);
  }
  const ImplicitAlsOptions& o = t.retrieval_options;
  std::printf(
      "  chosen: %d factors, λ %g (exponent %g), %s confidence α %g ε %g, "
      "unobserved weight %g: recall %.4f%s\n",
      o.factors, o.reg, o.reg_exponent,
      std::string(ConfidenceScaleName(o.confidence_scale)).c_str(), o.alpha,
      o.epsilon, o.unobserved_weight, t.retrieval_validation_recall,
      t.retrieval_tuning_out_of_time ? " (time budget spent: trials skipped)"
                                     : "");
}

// The retrieval λ and recency trials (explicit data), or the recency trials
// after the events search.
void PrintRecencyTrials(const TwoStageTrainingResult& t, int32_t k) {
  if (t.retrieval_reg_trials.empty()) return;
  std::printf(
      "Retrieval λ and recency chosen on validation (the latest item's "
      "NDCG@%d over the catalog by λ/recency weight/horizon:",
      k);
  for (const RetrievalRegTrial& x : t.retrieval_reg_trials) {
    std::printf(" %g/%g/%g→%.4f", x.reg, x.recency_weight, x.recency_horizon,
                x.ndcg);
  }
  std::printf(" )\n");
}

void PrintTrained(const TwoStageTrainingResult& t, int32_t k, double holdout) {
  const RatingTrainingResult& r = t.rating;
  if (!t.rating_trained) {
    if (!t.retrieval_trials.empty()) PrintRetrievalTrials(t, k, holdout);
    PrintRecencyTrials(t, k);
    if (t.retrieval)
      std::printf(
          "Retrieval embeddings: %d factors, recency weight %g (horizon %g), "
          "in %.1fs\n\n",
          t.retrieval_options.factors, t.retrieval_options.recency_weight,
          t.retrieval_options.recency_horizon, t.retrieval_seconds);
    return;
  }
  std::printf("Trained in %.1fs (%d epochs", r.train.seconds, r.chosen_epochs);
  if (!std::isnan(r.validation_rmse))
    std::printf(", best validation RMSE %.4f", r.validation_rmse);
  std::printf(")\n");
  if (const OrdinalOutput& ordinal = r.train.model.ordinal; !ordinal.empty()) {
    std::printf("Ordinal output: cutpoints");
    for (const float c : ordinal.cutpoints) std::printf(" %.3f", c);
    std::printf(", spread %.3f\n", ordinal.stddev);
  }
  if (!r.reg_trials.empty()) {
    std::printf("Chosen on validation: %d factors, λ %g (RMSE by factors/λ:",
                r.factors, r.reg);
    for (const RegTrial& x : r.reg_trials)
      std::printf(" %d/%g→%.4f", x.factors, x.reg, x.validation_rmse);
    std::printf(" )\n");
  }
  if (t.retrieval)
    std::printf(
        "Retrieval embeddings: %d factors, λ %g, recency weight %g (horizon "
        "%g), in %.1fs\n",
        t.retrieval_options.factors, t.retrieval_options.reg,
        t.retrieval_options.recency_weight, t.retrieval_options.recency_horizon,
        t.retrieval_seconds);
  PrintRecencyTrials(t, k);
  if (!t.item_item_trials.empty() || t.item_item) {
    if (t.item_item) {
      const ItemItemParams& p = t.item_item->params;
      std::printf(
          "Item-item model (EASE) ranks first: %d items, λ %g, recency weight "
          "%g (horizon %g)",
          t.item_item->num_items(), p.reg, p.recency_weight, p.recency_horizon);
    } else {
      std::printf(
          "Item-item model (EASE) not chosen: no setting ranked the latest "
          "items better than the embeddings%s",
          std::isnan(t.item_item_guard_ndcg)
              ? ""
              : " while ranking a random hold-out as well");
    }
    if (!t.item_item_trials.empty()) {
      const bool guarded = !std::isnan(t.item_item_guard_ndcg);
      std::printf(" (NDCG@%d by λ/recency weight/horizon", k);
      if (guarded) {
        std::printf(", latest|random hold-out; the embeddings' random %.4f",
                    t.item_item_guard_ndcg);
      }
      std::printf(":");
      for (const ItemItemTrial& x : t.item_item_trials) {
        std::printf(" %g/%g/%g→%.4f", x.params.reg, x.params.recency_weight,
                    x.params.recency_horizon, x.ndcg);
        if (guarded) std::printf("|%.4f", x.random_ndcg);
      }
      std::printf(" )");
    }
    std::printf("\n");
  }
  if (!t.blend_trials.empty()) {
    std::printf(
        "Ranking chosen on validation (the latest item's NDCG@%d): %d "
        "candidates, "
        "blend weight %g (candidates/weight:",
        k, t.ranking.candidates, t.ranking.blend_weight);
    for (const BlendTrial& x : t.blend_trials)
      std::printf(" %d/%g→%.4f", x.candidates, x.blend_weight, x.ndcg);
    std::printf(" )\n");
  }
  std::printf("\n");
}

void PrintFoldIn(const FoldInEvaluation& f) {
  const std::string at = absl::StrCat("@", f.k);
  std::printf(
      "Fold-in on %d users held out of training: each one's earlier half "
      "(%lld ratings) folded in, the later half (%lld) evaluated, full "
      "ranking\n",
      f.users, static_cast<long long>(f.recent_ratings),
      static_cast<long long>(f.test_ratings));
  std::printf("  %-18s %12s %12s %12s %10s %12s %12s\n", "method",
              ("precision" + at).c_str(), ("recall" + at).c_str(),
              ("ndcg" + at).c_str(), "coverage", ("LOO HR" + at).c_str(),
              ("LOO NDCG" + at).c_str());
  const std::pair<const char*, const TopNMetrics*> rows[] = {
      {"popularity", &f.popularity},
      {"trained", &f.trained},
      {"fold_in", &f.fold_in},
      {"trained retrieval", &f.trained_retrieval},
      {"fold_in retrieval", &f.fold_in_retrieval}};
  for (const auto& [name, m] : rows) {
    std::printf("  %-18s %12.4f %12.4f %12.4f %10.4f %12.4f %12.4f\n", name,
                m->precision, m->recall, m->ndcg, m->coverage, m->loo_hr,
                m->loo_ndcg);
  }
  std::printf(
      "  Fold-in recall%s: %.2f× popularity, %.2f× trained on them (%lld "
      "users with relevant test items; measured in %.1fs)\n\n",
      at.c_str(), f.RecallVsPopularity(), f.RecallVsTrained(),
      static_cast<long long>(f.fold_in.users), f.seconds);
}

void PrintColdEvaluation(const ColdItemEvaluation& c) {
  const std::string hr = absl::StrCat("HR@", c.k);
  const std::string ndcg = absl::StrCat("NDCG@", c.k);
  std::printf(
      "New items from their metadata (cold-item split: %lld items held out "
      "with all their interactions, ranked among themselves for %lld "
      "users):\n",
      static_cast<long long>(c.items), static_cast<long long>(c.users));
  std::printf("  %-34s %10s %10s %12s\n", "", hr.c_str(), ndcg.c_str(),
              "HR ÷ random");
  const std::pair<const char*, const ColdItemRanking*> rows[] = {
      {"random order (expected)", &c.random},
      {"popularity by shared labels", &c.label_popularity},
      {"mapped from attributes", &c.mapped},
      {"trained on them (upper reference)", &c.trained}};
  for (const auto& [name, r] : rows) {
    std::printf("  %-34s %10.4f %10.4f %11.2f×\n", name, r->hit_rate, r->ndcg,
                c.random.hit_rate > 0 ? r->hit_rate / c.random.hit_rate : 0.0);
  }
  if (c.label_agreement.has_value()) {
    std::printf(
        "  SimilarItems of held-out items: %.1f%% of neighbours share a "
        "label (random pairs %.1f%%: %.2f×)\n",
        100 * c.label_agreement->neighbours, 100 * c.label_agreement->random,
        c.label_agreement->random > 0
            ? c.label_agreement->neighbours / c.label_agreement->random
            : 0.0);
  }
  std::printf("  (map ridge λ: retrieval %g", c.retrieval_reg);
  if (c.rating_reg > 0) std::printf(", rating model %g", c.rating_reg);
  std::printf("; measured in %.1fs)\n\n", c.seconds);
}

// Prints what a labels file held; `ids` names what it labels ("items").
std::function<void(const std::string&, const ItemLabelReadReport&)>
PrintLabelsRead(const char* ids) {
  return [ids](const std::string& path, const ItemLabelReadReport& r) {
    std::printf("Read %s: labels for %lld %s (%lld distinct labels)\n",
                path.c_str(), static_cast<long long>(r.items), ids,
                static_cast<long long>(r.distinct_labels));
    WarnSkippedLines(path, r.skipped_bad_lines, r.bad_line_messages);
  };
}

}  // namespace

PipelineObserver ConsoleObserver(const TrainingPipelineOptions& o) {
  PipelineObserver p;
  // Whether the data are events, once it is read.
  auto events = std::make_shared<bool>(false);
  p.on_ratings_read = PrintRead;
  p.on_items_read = [](const std::string& path, const ItemReadReport& r) {
    std::printf("Read %s: %lld items with titles\n", path.c_str(),
                static_cast<long long>(r.items));
  };
  p.on_item_labels_read = PrintLabelsRead("items");
  p.on_user_labels_read = PrintLabelsRead("users");
  p.on_data = [&o, events](const DataSummary& d) {
    *events = d.feedback == Feedback::kImplicit;
    if (*events) {
      std::printf(
          "Training set: %d users, %d items, %lld interactions (%lld "
          "negative); test set: %lld\n"
          "Implicit feedback (events): training the retrieval model alone; "
          "it ranks by preference and predicts no ratings\n",
          d.users, d.items, static_cast<long long>(d.train_ratings),
          static_cast<long long>(d.negative),
          static_cast<long long>(d.test_ratings));
      return;
    }
    std::printf(
        "Training set: %d users, %d items, %lld ratings (scale %g..%g, step "
        "%g); test set: %lld ratings\n",
        d.users, d.items, static_cast<long long>(d.train_ratings), d.scale.min,
        d.scale.max, d.scale.step, static_cast<long long>(d.test_ratings));
    const Algorithm algorithm =
        ResolveAlgorithm(o.training.rating, d.train_ratings);
    std::printf("Training %s%s\n",
                std::string(AlgorithmName(algorithm)).c_str(),
                o.training.rating.algorithm == Algorithm::kAuto
                    ? " (chosen by the data size)"
                    : "");
  };
  p.training.on_phase = [events](const PhaseEvent& e) {
    if (e.phase == TrainingPhase::kRankingValidation && *events)
      std::printf(
          "Choosing the retrieval settings: training on a share of each "
          "user's interactions\n");
    if (e.phase == TrainingPhase::kRankingValidation && !*events)
      std::printf(
          "Choosing the blend weight: training both models without each user's "
          "latest rating\n");
    if (e.phase == TrainingPhase::kRetrievalFit)
      std::printf("Training retrieval embeddings (implicit ALS)\n");
    if (e.phase == TrainingPhase::kRatingRefit)
      std::printf(
          "Refitting on all training ratings (ALS goes on from the "
          "early-stopped model)\n");
  };
  p.training.on_epoch = [](const EpochStats& s) {
    std::printf("  epoch %3d  train RMSE %.4f", s.epoch, s.train_rmse);
    if (!std::isnan(s.valid_rmse))
      std::printf("  valid RMSE %.4f", s.valid_rmse);
    std::printf("  %7.1fs\n", s.seconds);
    std::fflush(stdout);
  };
  p.on_trained = [k = o.training.validation.k,
                  holdout = o.training.retrieval_tuning.holdout_fraction](
                     const TwoStageTrainingResult& t) {
    PrintTrained(t, k, holdout);
  };
  p.on_evaluated = [](const EvaluationReport& r) {
    std::printf("%s\n", FormatEvaluation(r).c_str());
  };
  p.on_fold_in_start = [](const FoldInSplit& s) {
    std::printf(
        "Measuring fold-in: training both models again with the chosen "
        "settings, without %zu users and with their earlier halves\n",
        s.users.size());
    std::fflush(stdout);
  };
  p.on_fold_in = PrintFoldIn;
  p.on_item_tags_read = [](const std::string& path,
                           const ItemTagReadReport& r) {
    std::printf("Read %s: tags for %lld items (%lld distinct tags)\n",
                path.c_str(), static_cast<long long>(r.items),
                static_cast<long long>(r.distinct_tags));
    WarnSkippedLines(path, r.skipped_bad_lines, r.bad_line_messages);
  };
  p.on_cold_evaluation_start = [] {
    std::printf(
        "Measuring new items: training again with the chosen settings "
        "without a share of the items, then mapping them from their "
        "metadata\n");
    std::fflush(stdout);
  };
  p.on_cold_evaluated = PrintColdEvaluation;
  p.on_cold_items_skipped = [](const std::string& what,
                               const absl::Status& why) {
    std::fprintf(stderr, "warning: %s skipped: %s\n", what.c_str(),
                 std::string(why.message()).c_str());
  };
  p.on_attributes = [](const ItemAttributeFit& fit, int32_t cold_items) {
    std::printf("Item attributes: %d learned on %d items (map λ: retrieval %g",
                fit.model.spec.size(), fit.items, fit.retrieval.map.reg);
    if (fit.rating.has_value()) {
      std::printf(", rating model %g", fit.rating->map.reg);
    }
    std::printf(
        "); %d items of the metadata without interactions published "
        "as cold items\n",
        cold_items);
  };
  p.on_refit = [](const DataSummary& d) {
    if (d.feedback == Feedback::kImplicit) {
      std::printf(
          "Refitting the retrieval model on every input interaction (%lld, "
          "%d users, %d items) with the settings chosen on validation\n",
          static_cast<long long>(d.train_ratings), d.users, d.items);
      return;
    }
    std::printf(
        "Refitting both models on every input rating (%lld ratings, %d users, "
        "%d items) with the settings chosen on validation\n",
        static_cast<long long>(d.train_ratings), d.users, d.items);
  };
  return p;
}

void PrintOutcome(const TrainingRun& run) {
  const nlohmann::json& m = run.metrics;
  if (m.contains("similar_items/genre_share/random_pairs")) {
    std::printf("Similar items (10 nearest by cosine) sharing a genre:");
    for (const char* space : {"retrieval", "rating_factors"}) {
      const std::string key =
          absl::StrCat("similar_items/genre_share@10/", space);
      if (m.contains(key))
        std::printf(" %s %.3f,", space, m[key].get<double>());
    }
    std::printf(" random pairs %.3f\n\n",
                m["similar_items/genre_share/random_pairs"].get<double>());
  }
  if (run.user_labels.has_value()) {
    std::printf("User labels: %lld users labelled (%lld distinct labels)",
                static_cast<long long>(run.user_labels->users),
                static_cast<long long>(run.user_labels->distinct_labels));
    if (run.user_labels->unknown_users > 0) {
      std::printf("; users of the file not in the data, ignored: %lld",
                  static_cast<long long>(run.user_labels->unknown_users));
    }
    std::printf("\n");
  }
  if (run.labels.has_value()) {
    std::printf("Item labels: %lld items labelled (%lld distinct labels)",
                static_cast<long long>(run.labels->items),
                static_cast<long long>(run.labels->distinct_labels));
    if (run.labels->unknown_items > 0)
      std::printf("; %lld items of the file are not in the data, ignored",
                  static_cast<long long>(run.labels->unknown_items));
    std::printf("\n");
  }
  if (run.refitted) {
    std::printf(
        "Refitted in %.1fs; the figures above are the held-out "
        "estimate\n",
        run.refit_seconds);
  }
  if (run.index_seconds > 0) {
    std::printf("Built the HNSW indexes in %.1fs\n", run.index_seconds);
  }
  if (!run.version.empty()) {
    std::printf("Published snapshot %s\n", run.version_dir.c_str());
  }
}

void PrintGenerated(const GeneratorReport& r) {
  if (r.event_lines > 0) {
    std::printf("Wrote %lld event lines (%lld (user, item) pairs:",
                static_cast<long long>(r.event_lines),
                static_cast<long long>(r.ratings_written));
    for (const auto& [event, lines] : r.event_type_lines)
      std::printf(" %s %lld,", event.c_str(), static_cast<long long>(lines));
    std::printf(") to %s, items to %s, truth to %s in %.1fs\n",
                r.ratings_path.c_str(), r.movies_path.c_str(),
                r.truth_path.c_str(), r.seconds);
    return;
  }
  std::printf(
      "Wrote %lld ratings to %s, items to %s, truth to %s in %.1fs; noise "
      "floor RMSE %.4f\n",
      static_cast<long long>(r.ratings_written), r.ratings_path.c_str(),
      r.movies_path.c_str(), r.truth_path.c_str(), r.seconds,
      r.noise_floor_rmse);
}

void PrintImported(const ImportRun& run) {
  const ImportReport& r = run.report;
  std::printf(
      "Imported %d users and %d items with %d factors; %lld of %lld ratings "
      "matched (%lld without user factors, %lld without item factors); global "
      "mean %.4f\n",
      run.users, run.items, r.factors, static_cast<long long>(r.ratings_used),
      static_cast<long long>(r.ratings_read),
      static_cast<long long>(r.ratings_without_user_factors),
      static_cast<long long>(r.ratings_without_item_factors), r.global_mean);
  if (r.retrieval_factors > 0)
    std::printf(
        "Imported %d-dimensional retrieval embeddings (%lld user and %lld item "
        "rows without factors ignored)\n",
        r.retrieval_factors, static_cast<long long>(r.user_embeddings_ignored),
        static_cast<long long>(r.item_embeddings_ignored));
  std::printf("Published snapshot %s\n", run.version_dir.c_str());
}

std::function<void(int64_t, int64_t)> ReadProgress() {
  const bool tty = isatty(STDERR_FILENO);
  auto quarter = std::make_shared<int>(-1);
  return [tty, quarter](int64_t done, int64_t total) {
    if (total < (64 << 20)) return;
    const int percent = static_cast<int>(100.0 * done / total);
    if (tty) {
      std::fprintf(stderr, "\rreading %3d%% (%lld / %lld MB)%s", percent,
                   static_cast<long long>(done >> 20),
                   static_cast<long long>(total >> 20),
                   done >= total ? "\n" : "");
    } else if (percent / 25 != *quarter) {
      *quarter = percent / 25;
      std::fprintf(stderr, "reading %d%%\n", percent);
    }
  };
}

std::function<void(int64_t, int64_t)> GenerateProgress() {
  return [](int64_t done, int64_t total) {
    if (!isatty(STDERR_FILENO)) return;
    std::fprintf(stderr, "\rgenerating %3d%%%s",
                 static_cast<int>(100.0 * done / total),
                 done >= total ? "\n" : "");
  };
}

}  // namespace recserve
