#include "lifeboat/controller/controller.h"

#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "lifeboat/common/log.h"

namespace lifeboat::controller {

namespace json = boost::json;

namespace {

std::string ObjectName(const json::value& obj) {
  const auto* o = obj.if_object();
  if (!o) return "";
  const auto* meta = o->if_contains("metadata");
  if (!meta || !meta->is_object()) return "";
  const auto* name = meta->as_object().if_contains("name");
  if (!name || !name->is_string()) return "";
  return std::string(name->as_string());
}

}  // namespace

Controller::Controller(ControllerOptions options, Reconciler* reconciler)
    : options_(std::move(options)), reconciler_(reconciler), queue_(options_.queue) {}

Controller::~Controller() = default;

void Controller::Watch(kube::Informer& informer, KeyFunc key) {
  if (!key) key = ObjectName;
  auto enqueue = [this, key](const json::value& obj) {
    std::string name = key(obj);
    if (!name.empty()) queue_.Add(name);
  };
  kube::ResourceEventHandler handler;
  handler.on_add = enqueue;
  handler.on_update = [enqueue](const json::value& old_obj, const json::value& new_obj) {
    enqueue(new_obj);
    (void)old_obj;  // names do not change; a KeyFunc of the new object is enough
  };
  handler.on_delete = enqueue;
  informer.AddEventHandler(std::move(handler));
}

void Controller::Enqueue(const std::string& name) { queue_.Add(name); }

void Controller::EnqueueAfter(const std::string& name, std::chrono::milliseconds delay) {
  queue_.AddAfter(name, delay);
}

void Controller::Run(const CancellationToken& cancel) {
  LB_LOG_INFO("controller {}: starting {} worker(s)", options_.name, options_.workers);
  auto worker = [this, &cancel] {
    while (auto name = queue_.Get(cancel)) {
      ProcessOne(*name, cancel);
      queue_.Done(*name);
    }
  };
  std::vector<std::thread> threads;
  const int workers = options_.workers > 0 ? options_.workers : 1;
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  queue_.ShutDown();
  LB_LOG_INFO("controller {}: stopped", options_.name);
}

void Controller::ProcessOne(const std::string& name, const CancellationToken& cancel) {
  StatusOr<Result> result = absl::UnknownError("no result");
  // A reconciler should not throw; if one does, treat it as a failed reconcile rather than
  // letting the exception end the process from a worker thread.
  try {
    result = reconciler_->Reconcile(name, cancel);
  } catch (const std::exception& e) {
    result = absl::InternalError(std::string("reconcile threw: ") + e.what());
  } catch (...) {
    result = absl::InternalError("reconcile threw a non-standard exception");
  }
  if (!result.ok()) {
    if (cancel.IsCancelled()) {
      LB_LOG_DEBUG("controller {}: reconcile of {} interrupted: {}", options_.name, name,
                   result.status().ToString());
      return;
    }
    LB_LOG_ERROR("controller {}: reconcile of {} failed (retry {}): {}", options_.name, name,
                 queue_.NumRequeues(name) + 1, result.status().ToString());
    queue_.AddRateLimited(name);
    return;
  }
  LB_LOG_DEBUG("controller {}: reconciled {}", options_.name, name);
  queue_.Forget(name);
  if (result->requeue_after > std::chrono::milliseconds::zero()) {
    queue_.AddAfter(name, result->requeue_after);
  }
}

}  // namespace lifeboat::controller
