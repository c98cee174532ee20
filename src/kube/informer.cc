#include "lifeboat/kube/informer.h"

#include "lifeboat/common/log.h"
#include "lifeboat/kube/object.h"

namespace lifeboat::kube {

Informer::Informer(DynamicClient* client, GroupVersionResource gvr, std::string ns, InformerOptions options)
    : gvr_(gvr), options_(options) {
  reflector_ = std::make_unique<Reflector>(client, std::move(gvr), std::move(ns), this, options.reflector);
}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandler(ResourceEventHandler handler) {
  std::lock_guard<std::mutex> lock(dispatch_mu_);
  handlers_.push_back(std::move(handler));
}

void Informer::Start() {
  std::lock_guard<std::mutex> lock(run_mu_);
  if (stop_) return;
  stop_ = std::make_unique<CancellationSource>();
  CancellationToken token = stop_->token();
  reflector_thread_ = std::thread([this, token] { (void)reflector_->Run(token); });
  if (options_.resync_period.count() > 0) {
    resync_thread_ = std::thread([this, token] { ResyncLoop(token); });
  }
}

void Informer::Stop() {
  std::lock_guard<std::mutex> lock(run_mu_);
  if (!stop_) return;
  stop_->Cancel("informer stopped");
  if (reflector_thread_.joinable()) reflector_thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

void Informer::ResyncLoop(CancellationToken cancel) {
  Clock* clock = options_.reflector.clock ? options_.reflector.clock : &RealClock();
  while (clock->SleepFor(options_.resync_period, cancel)) {
    if (HasSynced()) Resync();
  }
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return synced_cv_.wait_for(lock, timeout, [this] { return synced_; });
}

std::optional<boost::json::value> Informer::Get(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<boost::json::value> Informer::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<boost::json::value> out;
  out.reserve(cache_.size());
  for (const auto& [key, obj] : cache_) out.push_back(obj);
  return out;
}

size_t Informer::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

std::string Informer::last_sync_resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_sync_rv_;
}

void Informer::Resync() {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  std::vector<boost::json::value> all = List();
  for (const auto& obj : all) {
    for (const auto& h : handlers_) {
      if (h.on_update) h.on_update(obj, obj);
    }
  }
}

void Informer::Replace(std::vector<boost::json::value> items, const std::string& resource_version) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  std::map<std::string, boost::json::value, std::less<>> fresh;
  for (auto& item : items) {
    std::string key = ObjectKey(item);
    fresh.insert_or_assign(std::move(key), std::move(item));
  }
  std::map<std::string, boost::json::value, std::less<>> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(cache_);
    cache_ = fresh;
    synced_ = true;
    last_sync_rv_ = resource_version;
  }
  synced_cv_.notify_all();
  for (const auto& [key, obj] : old) {
    if (fresh.count(key) != 0) continue;
    for (const auto& h : handlers_) {
      if (h.on_delete) h.on_delete(obj);
    }
  }
  for (const auto& [key, obj] : fresh) {
    auto it = old.find(key);
    for (const auto& h : handlers_) {
      if (it == old.end()) {
        if (h.on_add) h.on_add(obj);
      } else if (ObjectResourceVersion(it->second) != ObjectResourceVersion(obj) && h.on_update) {
        h.on_update(it->second, obj);
      }
    }
  }
}

void Informer::Upsert(boost::json::value obj) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  std::string key = ObjectKey(obj);
  std::optional<boost::json::value> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      old = std::move(it->second);
      it->second = obj;
    } else {
      cache_.emplace(key, obj);
    }
  }
  for (const auto& h : handlers_) {
    if (old) {
      if (h.on_update) h.on_update(*old, obj);
    } else if (h.on_add) {
      h.on_add(obj);
    }
  }
}

void Informer::Add(boost::json::value obj) { Upsert(std::move(obj)); }
void Informer::Update(boost::json::value obj) { Upsert(std::move(obj)); }

void Informer::Delete(boost::json::value obj) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  std::string key = ObjectKey(obj);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return;  // never seen (or already gone after a re-list)
    cache_.erase(it);
  }
  for (const auto& h : handlers_) {
    if (h.on_delete) h.on_delete(obj);
  }
}

}  // namespace lifeboat::kube
