#ifndef RECSERVE_CORE_SERVE_MODEL_RELOADER_H_
#define RECSERVE_CORE_SERVE_MODEL_RELOADER_H_

// Keeps the server's current ServingModel and replaces it when a new
// snapshot version is published.
//
// Requests call Current() once and keep the shared_ptr for their whole life,
// so a swap never changes the model under a request and the old model is
// freed when its last request finishes. Loading (snapshot validation, index
// load or build, sanity check) runs on the reloader's own thread, never on a
// request's. A version that fails to load is reported through on_rejected
// and not retried until LATEST names another version; a LATEST that cannot
// be resolved is reported once until it changes. The current model keeps
// serving.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"

namespace recserve {

struct ModelReloaderOptions {
  // The snapshot root (the folder holding LATEST and the versions).
  std::string snapshot_root;
  ServingModelLoadOptions load;
  // How often LATEST is checked. Default 5 s.
  absl::Duration poll_interval = absl::Seconds(5);
  // The polling thread, and the threads it starts to build indexes, run
  // this much nicer than the thread that calls Start (Linux), so that
  // loading a snapshot under load yields the CPU to requests. 0 leaves it
  // unchanged. Default 10.
  int nice = 10;
  // Called on the reloader's thread (or PollOnce's caller) after a model is
  // swapped in / a version is rejected. Must not block for long.
  std::function<void(const ServingModel&, const ServingModelLoadReport&)>
      on_loaded;
  std::function<void(const std::string& version, const absl::Status&)>
      on_rejected;
};

class ModelReloader {
 public:
  explicit ModelReloader(ModelReloaderOptions options);
  // Stops the polling thread.
  ~ModelReloader();
  ModelReloader(const ModelReloader&) = delete;
  ModelReloader& operator=(const ModelReloader&) = delete;

  // The model serving now, or nullptr before the first successful load.
  // Thread-safe, wait-free for practical purposes (a short mutex).
  std::shared_ptr<const ServingModel> Current() const;

  // Checks LATEST once and, if it names a version that is neither current
  // nor already rejected, loads and swaps it in. Returns OK when nothing was
  // published yet or nothing changed, or the load's error after calling
  // on_rejected. Thread-safe (concurrent calls load one at a time).
  absl::Status PollOnce();

  // Starts a thread calling PollOnce now and then every poll_interval until
  // Stop.
  void Start();
  // Idempotent; waits for a load in progress to finish.
  void Stop();

 private:
  void Loop();

  const ModelReloaderOptions options_;
  // std::mutex rather than absl::Mutex: Debian's Abseil is built without
  // ThreadSanitizer annotations, and TSan must see how requests and the
  // reloader order their access to current_.
  mutable std::mutex current_mu_;
  std::shared_ptr<const ServingModel> current_ ABSL_GUARDED_BY(current_mu_);
  std::mutex poll_mu_;  // one load at a time
  std::string rejected_version_ ABSL_GUARDED_BY(poll_mu_);
  std::string latest_error_ ABSL_GUARDED_BY(poll_mu_);  // last one reported
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_MODEL_RELOADER_H_
