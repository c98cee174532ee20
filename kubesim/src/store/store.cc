#include "kubesim/src/store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <mutex>

#include "kubesim/src/store/wal.h"
#include "lifeboat/common/log.h"

namespace kubesim {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr char kSnapshotFile[] = "snapshot.jsonl";
constexpr char kWalFile[] = "wal.log";
constexpr char kFormat[] = "kubesim-state/v1";
constexpr size_t kCheckpointWalBytes = 256u << 20;

void SetResourceVersion(json::value& obj, int64_t rv) {
  if (!obj.is_object()) return;
  auto& meta = obj.as_object()["metadata"];
  if (!meta.is_object()) meta = json::object();
  meta.as_object()["resourceVersion"] = std::to_string(rv);
}

ObjectPtr MakeStored(const std::string& gr, const std::string& ns, const std::string& name,
                     int64_t rv, json::value obj) {
  auto s = std::make_shared<StoredObject>();
  s->gr = gr;
  s->ns = ns;
  s->name = name;
  s->rv = rv;
  SetResourceVersion(obj, rv);
  s->object = std::move(obj);
  s->json = json::serialize(s->object);
  return s;
}

std::string WalRecord(std::string_view op, const StoredObject& o) {
  json::object rec;
  rec["op"] = op;
  rec["rv"] = o.rv;
  rec["gr"] = o.gr;
  rec["ns"] = o.ns;
  rec["name"] = o.name;
  if (op == "put") rec["obj"] = o.object;
  return json::serialize(rec);
}

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError("opening " + dir.string());
  ::fsync(fd);
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

std::string ObjectKey(const std::string& ns, const std::string& name) { return ns + "/" + name; }

Store::Store(const Options& options) : options_(options) {}
Store::~Store() = default;

StatusOr<std::unique_ptr<Store>> Store::Open(const Options& options) {
  std::unique_ptr<Store> store(new Store(options));
  if (!options.dir.empty()) {
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) return absl::InternalError("creating " + options.dir.string() + ": " + ec.message());
    if (options.fresh) {
      fs::remove(options.dir / kSnapshotFile, ec);
      fs::remove(options.dir / kWalFile, ec);
    }
    LIFEBOAT_RETURN_IF_ERROR(store->Recover());
  }
  return store;
}

Status Store::ApplyRecovered(const json::object& rec, bool from_snapshot) {
  auto str = [&](const char* k) -> std::string {
    auto it = rec.find(k);
    return it != rec.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
  };
  auto rv_it = rec.find("rv");
  if (rv_it == rec.end() || !rv_it->value().is_int64()) return absl::DataLossError("record without rv");
  int64_t rv = rv_it->value().as_int64();
  std::string gr = str("gr"), ns = str("ns"), name = str("name");
  if (gr.empty() || name.empty()) return absl::DataLossError("record without gr/name");
  std::string op = from_snapshot ? "put" : str("op");
  auto& bucket = objects_[gr];
  if (op == "put") {
    auto obj = rec.find("obj");
    if (obj == rec.end() || !obj->value().is_object()) return absl::DataLossError("put without obj");
    bucket[ObjectKey(ns, name)] = MakeStored(gr, ns, name, rv, obj->value());
  } else if (op == "del") {
    bucket.erase(ObjectKey(ns, name));
  } else {
    return absl::DataLossError("unknown op \"" + op + "\"");
  }
  rv_ = std::max(rv_, rv);
  return absl::OkStatus();
}

Status Store::Recover() {
  const fs::path snap = options_.dir / kSnapshotFile;
  std::ifstream in(snap);
  std::string line;
  size_t lineno = 0;
  while (in && std::getline(in, line)) {
    ++lineno;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      return absl::DataLossError(snap.string() + ":" + std::to_string(lineno) + ": corrupt record");
    }
    if (lineno == 1) {
      const auto& o = v.as_object();
      auto f = o.find("format");
      if (f == o.end() || f->value() != kFormat) {
        return absl::DataLossError(snap.string() + ": not a " + std::string(kFormat) + " snapshot");
      }
      if (auto r = o.find("rv"); r != o.end() && r->value().is_int64()) rv_ = r->value().as_int64();
      continue;
    }
    Status s = ApplyRecovered(v.as_object(), true);
    if (!s.ok()) return Annotate(s, snap.string() + ":" + std::to_string(lineno));
  }
  size_t dropped = 0;
  size_t records = 0;
  LIFEBOAT_RETURN_IF_ERROR(Wal::Replay(
      options_.dir / kWalFile,
      [&](std::string_view payload) -> Status {
        boost::system::error_code ec;
        json::value v = json::parse(payload, ec);
        if (ec || !v.is_object()) return absl::DataLossError("corrupt write-ahead log record");
        ++records;
        return ApplyRecovered(v.as_object(), false);
      },
      &dropped));
  if (dropped > 0) {
    LB_LOG_WARN("kubesim: dropped a torn tail of {} bytes from the write-ahead log", dropped);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(wal_, Wal::Open(options_.dir / kWalFile, options_.sync));
  compacted_rv_ = rv_;  // history from before a restart is gone, as after an etcd compaction
  if (records > 0 || dropped > 0 || !fs::exists(snap)) return CheckpointLocked();
  return absl::OkStatus();
}

Status Store::Checkpoint() {
  std::unique_lock lock(mu_);
  return CheckpointLocked();
}

Status Store::CheckpointLocked() {
  if (options_.dir.empty()) return absl::OkStatus();
  const fs::path snap = options_.dir / kSnapshotFile;
  const fs::path tmp = options_.dir / (std::string(kSnapshotFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json::serialize(json::object{{"format", kFormat}, {"rv", rv_}}) << '\n';
    for (const auto& [gr, bucket] : objects_) {
      for (const auto& [key, o] : bucket) {
        json::object rec{{"rv", o->rv}, {"gr", o->gr}, {"ns", o->ns}, {"name", o->name}};
        rec["obj"] = o->object;
        out << json::serialize(rec) << '\n';
      }
    }
    out.flush();
    if (!out) return absl::InternalError("writing " + tmp.string());
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  fs::rename(tmp, snap, ec);
  if (ec) return absl::InternalError("renaming " + tmp.string() + ": " + ec.message());
  LIFEBOAT_RETURN_IF_ERROR(FsyncDir(options_.dir));
  return wal_->Truncate();
}

int64_t Store::revision() const {
  std::shared_lock lock(mu_);
  return rv_;
}

int64_t Store::compacted_revision() const {
  std::shared_lock lock(mu_);
  return compacted_rv_;
}

ObjectPtr Store::Get(const std::string& gr, const std::string& ns, const std::string& name) const {
  std::shared_lock lock(mu_);
  auto b = objects_.find(gr);
  if (b == objects_.end()) return nullptr;
  auto it = b->second.find(ObjectKey(ns, name));
  return it == b->second.end() ? nullptr : it->second;
}

namespace {

// The first key after every key that starts with `prefix` ("ns/" -> "ns0"); "" for no prefix.
std::string PrefixEnd(const std::string& prefix) {
  if (prefix.empty()) return "";
  std::string end = prefix;
  ++end.back();  // prefixes end in '/', which is not the largest char
  return end;
}

}  // namespace

ListPage Store::List(const std::string& gr, const std::string& ns, bool all_namespaces,
                     const std::string& after_key, size_t limit,
                     const std::function<bool(const StoredObject&)>& filter) const {
  std::shared_lock lock(mu_);
  // At the current revision the window check cannot fail.
  return *ListAtLocked(gr, ns, all_namespaces, after_key, limit, filter, rv_);
}

StatusOr<ListPage> Store::ListAt(const std::string& gr, const std::string& ns, bool all_namespaces,
                                 const std::string& after_key, size_t limit,
                                 const std::function<bool(const StoredObject&)>& filter,
                                 int64_t at_rv) const {
  std::shared_lock lock(mu_);
  return ListAtLocked(gr, ns, all_namespaces, after_key, limit, filter, at_rv);
}

StatusOr<ListPage> Store::ListAtLocked(const std::string& gr, const std::string& ns,
                                       bool all_namespaces, const std::string& after_key,
                                       size_t limit,
                                       const std::function<bool(const StoredObject&)>& filter,
                                       int64_t at_rv) const {
  ListPage page;
  const std::string prefix = all_namespaces ? "" : ns + "/";
  const std::string prefix_end = PrefixEnd(prefix);
  auto in_scope = [&](const std::string& key) {
    return key.compare(0, prefix.size(), prefix) == 0 && (after_key.empty() || key > after_key);
  };
  // Keys changed after at_rv, and their state at at_rv (null: absent then). The first event
  // after at_rv for a key holds the state before it.
  std::map<std::string, ObjectPtr> then;
  if (at_rv < rv_) {
    LIFEBOAT_RETURN_IF_ERROR(CheckWindowLocked(at_rv));
    auto e = std::upper_bound(events_.begin(), events_.end(), at_rv,
                              [](int64_t rv, const StoreEvent& ev) { return rv < ev.rv; });
    for (; e != events_.end(); ++e) {
      if (e->object == nullptr || e->object->gr != gr) continue;
      std::string key = ObjectKey(e->object->ns, e->object->name);
      if (!in_scope(key) || then.contains(key)) continue;
      then.emplace(std::move(key), e->type == EventType::kAdded ? nullptr : e->prev);
    }
    page.rv = at_rv;
  } else {
    page.rv = rv_;
  }
  static const Bucket kEmpty;
  auto b = objects_.find(gr);
  const Bucket& bucket = b == objects_.end() ? kEmpty : b->second;
  auto it = after_key.compare(0, prefix.size(), prefix) == 0 && !after_key.empty()
                ? bucket.upper_bound(after_key)
                : bucket.lower_bound(prefix);
  auto scoped = [&](Bucket::const_iterator i) {
    return i != bucket.end() && i->first.compare(0, prefix.size(), prefix) == 0;
  };
  auto jt = then.begin();
  // Merges the current objects with the states at at_rv; the next object of the list at at_rv
  // (nullptr at its end), and its key.
  const std::string* key = nullptr;
  auto next = [&]() -> ObjectPtr {
    while (true) {
      const bool cur = scoped(it);
      const bool old = jt != then.end();
      if (!cur && !old) return nullptr;
      ObjectPtr o;
      if (old && (!cur || jt->first <= it->first)) {
        if (cur && jt->first == it->first) ++it;  // changed since: its state then replaces it
        key = &jt->first;
        o = jt->second;
        ++jt;
      } else {
        key = &it->first;
        o = it->second;
        ++it;
      }
      if (o != nullptr) return o;  // else: created after at_rv, not in the list then
    }
  };
  std::string last_key;
  for (ObjectPtr o = next(); o != nullptr; o = next()) {
    if (limit > 0 && page.items.size() == limit) {
      // Objects after the page, before filtering: those in scope now after the last key,
      // corrected by the changes since at_rv after it.
      int64_t now = static_cast<int64_t>(
          (prefix_end.empty() ? bucket.size() : bucket.order_of_key(prefix_end)) -
          bucket.order_of_key(last_key) - (bucket.find(last_key) != bucket.end() ? 1 : 0));
      for (auto t = then.upper_bound(last_key); t != then.end(); ++t) {
        if (bucket.find(t->first) != bucket.end()) --now;
        if (t->second != nullptr) ++now;
      }
      page.remaining = now;
      page.continue_key = last_key;
      break;
    }
    const std::string& k = *key;
    if (filter && !filter(*o)) continue;
    page.items.push_back(std::move(o));
    last_key = k;
  }
  return page;
}

size_t Store::Count(const std::string& gr) const {
  std::shared_lock lock(mu_);
  auto b = objects_.find(gr);
  return b == objects_.end() ? 0 : b->second.size();
}

std::vector<std::string> Store::GroupResources() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [gr, bucket] : objects_) {
    if (!bucket.empty()) out.push_back(gr);
  }
  return out;
}

StatusOr<ObjectPtr> Store::Mutate(
    const std::string& gr, const std::string& ns, const std::string& name,
    const std::function<StatusOr<Mutation>(const StoredObject* current, int64_t next_rv)>& fn,
    bool dry_run) {
  std::unique_lock lock(mu_);
  auto& bucket = objects_[gr];
  const std::string key = ObjectKey(ns, name);
  auto it = bucket.find(key);
  ObjectPtr current = it == bucket.end() ? nullptr : it->second;
  LIFEBOAT_ASSIGN_OR_RETURN(Mutation m, fn(current.get(), rv_ + 1));
  if (m.op == Mutation::Op::kNone) return current;
  if (m.op == Mutation::Op::kDelete && current == nullptr) return current;
  const int64_t rv = rv_ + 1;
  ObjectPtr stored = m.op == Mutation::Op::kPut
                         ? MakeStored(gr, ns, name, rv, std::move(m.object))
                         : MakeStored(gr, ns, name, rv, current->object);
  if (dry_run) return stored;
  if (wal_) {
    LIFEBOAT_RETURN_IF_ERROR(wal_->Append(WalRecord(m.op == Mutation::Op::kPut ? "put" : "del", *stored)));
  }
  rv_ = rv;
  StoreEvent ev;
  ev.rv = rv;
  ev.object = stored;
  ev.prev = current;
  if (m.op == Mutation::Op::kPut) {
    ev.type = current ? EventType::kModified : EventType::kAdded;
    bucket[key] = stored;
  } else {
    ev.type = EventType::kDeleted;
    bucket.erase(key);
  }
  events_.push_back(std::move(ev));
  while (events_.size() > options_.event_window) events_.pop_front();
  events_cv_.notify_all();
  if (wal_ && wal_->size_bytes() > kCheckpointWalBytes) {
    if (Status s = CheckpointLocked(); !s.ok()) LB_LOG_ERROR("kubesim: checkpoint failed: {}", s.ToString());
  }
  return stored;
}

StatusOr<std::vector<StoreEvent>> Store::EventsSince(int64_t after_rv, size_t max) const {
  std::shared_lock lock(mu_);
  LIFEBOAT_RETURN_IF_ERROR(CheckWindowLocked(after_rv));
  std::vector<StoreEvent> out;
  auto it = std::upper_bound(events_.begin(), events_.end(), after_rv,
                             [](int64_t rv, const StoreEvent& e) { return rv < e.rv; });
  for (; it != events_.end() && out.size() < max; ++it) out.push_back(*it);
  return out;
}

Status Store::CheckWindowLocked(int64_t after_rv) const {
  int64_t oldest_known = events_.empty() ? rv_ + 1 : events_.front().rv;
  // Events after `after_rv` are complete only if the window reaches back to after_rv + 1.
  if (after_rv < compacted_rv_ || (after_rv + 1 < oldest_known && after_rv < rv_)) {
    return absl::OutOfRangeError("too old resource version: " + std::to_string(after_rv) + " (" +
                                 std::to_string(std::max(compacted_rv_, oldest_known - 1)) + ")");
  }
  return absl::OkStatus();
}

void Store::WaitForEvents(int64_t after_rv, std::chrono::milliseconds timeout) const {
  std::shared_lock lock(mu_);
  events_cv_.wait_for(lock, timeout, [&] { return rv_ > after_rv; });
}

void Store::Compact() {
  std::unique_lock lock(mu_);
  compacted_rv_ = rv_;
  events_.clear();
}

}  // namespace kubesim
