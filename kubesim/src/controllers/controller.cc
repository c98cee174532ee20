#include "kubesim/src/controllers/controller.h"

#include <algorithm>
#include <thread>

#include "lifeboat/common/log.h"

namespace kubesim {

ControllerRunner::ControllerRunner(Store* store, std::chrono::milliseconds resync)
    : store_(store), resync_(resync) {}

ControllerRunner::~ControllerRunner() { Stop(); }

void ControllerRunner::Add(std::unique_ptr<Controller> controller) {
  controllers_.push_back(std::move(controller));
}

void ControllerRunner::Start() {
  for (auto& c : controllers_) threads_.emplace_back([this, p = c.get()] { Run(p); });
}

void ControllerRunner::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ControllerRunner::Run(Controller* c) {
  const std::vector<std::string> watches = c->Watches();
  auto wanted = [&](const std::string& gr) {
    return std::find(watches.begin(), watches.end(), gr) != watches.end() ||
           std::find(watches.begin(), watches.end(), "*") != watches.end();
  };
  int64_t seen = store_->revision();
  c->Resync();
  auto next_resync = std::chrono::steady_clock::now() + resync_;
  while (!stop_) {
    store_->WaitForEvents(seen, std::chrono::milliseconds(200));
    auto events = store_->EventsSince(seen, 1000);
    if (!events.ok()) {
      // Fell behind the event window: catch up by reconciling everything.
      LB_LOG_DEBUG("kubesim: controller {} fell behind; resyncing", c->name());
      seen = store_->revision();
      c->Resync();
      continue;
    }
    for (const StoreEvent& ev : *events) {
      seen = ev.rv;
      if (stop_) return;
      if (wanted(ev.object->gr)) c->OnEvent(ev);
    }
    if (std::chrono::steady_clock::now() >= next_resync) {
      c->Resync();
      next_resync = std::chrono::steady_clock::now() + resync_;
    }
    // Under a stream of writes, let events gather before waking again: every controller waking
    // for every single event cost more CPU in context switches than the API server's own work.
    if (!events->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace kubesim
