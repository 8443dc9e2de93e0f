#include "core/serve/model_reloader.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/snapshot/snapshot.h"

namespace recserve {

ModelReloader::ModelReloader(ModelReloaderOptions options)
    : options_(std::move(options)) {}

ModelReloader::~ModelReloader() { Stop(); }

std::shared_ptr<const ServingModel> ModelReloader::Current() const {
  std::lock_guard lock(current_mu_);
  return current_;
}

absl::Status ModelReloader::PollOnce() {
  std::lock_guard poll_lock(poll_mu_);
  absl::StatusOr<std::string> latest =
      ResolveLatestVersion(options_.snapshot_root);
  if (absl::IsNotFound(latest.status())) return absl::OkStatus();
  if (!latest.ok()) {
    // Reported once, like a rejected version: LATEST stays broken until
    // the next publish rewrites it.
    const std::string error = latest.status().ToString();
    if (error != latest_error_ && options_.on_rejected) {
      options_.on_rejected("LATEST", latest.status());
    }
    latest_error_ = error;
    return latest.status();
  }
  latest_error_.clear();
  const std::shared_ptr<const ServingModel> current = Current();
  if ((current != nullptr && current->snapshot().version() == *latest) ||
      *latest == rejected_version_) {
    return absl::OkStatus();
  }
  ServingModelLoadReport report;
  absl::StatusOr<std::shared_ptr<const ServingModel>> loaded =
      LoadServingModel(absl::StrCat(options_.snapshot_root, "/", *latest),
                       options_.load, &report);
  if (!loaded.ok()) {
    rejected_version_ = *latest;
    if (options_.on_rejected) options_.on_rejected(*latest, loaded.status());
    return loaded.status();
  }
  {
    std::lock_guard lock(current_mu_);
    current_ = *loaded;
  }
  rejected_version_.clear();
  if (options_.on_loaded) options_.on_loaded(**loaded, report);
  return absl::OkStatus();
}

void ModelReloader::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ModelReloader::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ModelReloader::Loop() {
#ifdef __linux__
  // Per thread on Linux, and inherited by threads started from this one.
  if (options_.nice != 0) {
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    ::setpriority(PRIO_PROCESS, tid,
                  ::getpriority(PRIO_PROCESS, tid) + options_.nice);
  }
#endif
  while (true) {
    // Errors were reported through on_rejected.
    PollOnce().IgnoreError();
    std::unique_lock lock(stop_mu_);
    // Capped: an infinite interval would overflow the clock arithmetic.
    const absl::Duration wait =
        std::min(options_.poll_interval, absl::Hours(24));
    stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(wait),
                      [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace recserve
