#include "core/model_reloader.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/snapshot.h"

namespace recserve {

ModelReloader::ModelReloader(ModelReloaderOptions options)
    : options_(std::move(options)) {}

ModelReloader::~ModelReloader() { Stop(); }

std::shared_ptr<const ServingModel> ModelReloader::Current() const {
  absl::MutexLock lock(&current_mu_);
  return current_;
}

absl::Status ModelReloader::PollOnce() {
  absl::MutexLock poll_lock(&poll_mu_);
  absl::StatusOr<std::string> latest =
      ResolveLatestVersion(options_.snapshot_root);
  if (absl::IsNotFound(latest.status())) return absl::OkStatus();
  if (!latest.ok()) {
    if (options_.on_rejected) options_.on_rejected("LATEST", latest.status());
    return latest.status();
  }
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
    absl::MutexLock lock(&current_mu_);
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
    absl::MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
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
    absl::MutexLock lock(&stop_mu_);
    stop_mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                              options_.poll_interval);
    if (stopping_) return;
  }
}

}  // namespace recserve
