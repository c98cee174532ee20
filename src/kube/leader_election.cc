// Leader election through a coordination.k8s.io/v1 Lease (see leader_election.h for the
// semantics and how they relate to client-go's tools/leaderelection).

#include "lifeboat/kube/leader_election.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include "lifeboat/common/log.h"

namespace lifeboat::kube {
namespace {

const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases"};
constexpr double kJitterFactor = 1.2;  // client-go's JitterFactor

std::string Str(const Status& s) { return std::string(s.message().data(), s.message().size()); }

int64_t IntField(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return 0;
}

std::string StringField(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->as_string());
}

boost::json::object SpecOf(const LeaderElectionRecord& r) {
  boost::json::object spec;
  spec["holderIdentity"] = boost::json::string(r.holder_identity);
  spec["leaseDurationSeconds"] = r.lease_duration_seconds;
  if (!r.acquire_time.empty()) spec["acquireTime"] = boost::json::string(r.acquire_time);
  if (!r.renew_time.empty()) spec["renewTime"] = boost::json::string(r.renew_time);
  spec["leaseTransitions"] = r.lease_transitions;
  return spec;
}

// A source cancelled as soon as any of `tokens` is; the callbacks are unregistered on
// destruction so waiting repeatedly does not pile them up.
class AnyOf {
 public:
  explicit AnyOf(const std::vector<CancellationToken>& tokens) : tokens_(tokens) {
    for (const CancellationToken& t : tokens_) {
      CancellationSource wake = wake_;
      ids_.push_back(t.OnCancel([wake]() mutable { wake.Cancel("woken"); }));
    }
  }
  ~AnyOf() {
    for (size_t i = 0; i < tokens_.size(); ++i) tokens_[i].Unregister(ids_[i]);
  }
  CancellationToken token() const { return wake_.token(); }

 private:
  std::vector<CancellationToken> tokens_;
  std::vector<uint64_t> ids_;
  CancellationSource wake_;
};

}  // namespace

LeaderElectionRecord LeaderElectionRecordFromLease(const boost::json::value& lease) {
  LeaderElectionRecord r;
  const boost::json::object* obj = lease.if_object();
  const boost::json::value* spec = obj == nullptr ? nullptr : obj->if_contains("spec");
  if (spec == nullptr || !spec->is_object()) return r;
  const boost::json::object& s = spec->as_object();
  r.holder_identity = StringField(s, "holderIdentity");
  r.lease_duration_seconds = IntField(s, "leaseDurationSeconds");
  r.acquire_time = StringField(s, "acquireTime");
  r.renew_time = StringField(s, "renewTime");
  r.lease_transitions = IntField(s, "leaseTransitions");
  return r;
}

std::string FormatMicroTime(Clock::TimePoint t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(micros / 1'000'000);
  long frac = static_cast<long>(micros % 1'000'000);
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

LeaderElector::LeaderElector(DynamicClient* client, LeaderElectionConfig config)
    : client_(client),
      config_(std::move(config)),
      clock_(config_.clock != nullptr ? config_.clock : &RealClock()),
      lease_duration_seconds_(std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(config_.lease_duration.count() / 1000.0)))),
      rng_(std::random_device{}()) {}

Status LeaderElector::Validate(
    const std::function<void(CancellationToken)>& on_started_leading) const {
  if (client_ == nullptr) return absl::InvalidArgumentError("leader election: no client");
  if (config_.ns.empty() || config_.name.empty()) {
    return absl::InvalidArgumentError("leader election: the Lease namespace and name are required");
  }
  if (config_.identity.empty())
    return absl::InvalidArgumentError("leader election: identity is required");
  if (!on_started_leading) {
    return absl::InvalidArgumentError("leader election: on_started_leading is required");
  }
  if (config_.retry_period.count() < 1) {
    return absl::InvalidArgumentError("leader election: retry_period must be positive");
  }
  if (config_.lease_duration <= config_.renew_deadline) {
    return absl::InvalidArgumentError(
        "leader election: lease_duration must be greater than renew_deadline");
  }
  if (config_.renew_deadline.count() <= kJitterFactor * config_.retry_period.count()) {
    return absl::InvalidArgumentError(
        "leader election: renew_deadline must be greater than 1.2 × retry_period");
  }
  return absl::OkStatus();
}

bool LeaderElector::IsLeader() const {
  std::lock_guard lock(mu_);
  return leading_ && clock_->Now() < valid_until_;
}

std::string LeaderElector::CurrentLeader() const {
  std::lock_guard lock(mu_);
  return observed_.holder_identity;
}

bool LeaderElector::HolderIsMe() const {
  std::lock_guard lock(mu_);
  return observed_.holder_identity == config_.identity;
}

void LeaderElector::SetObserved(const LeaderElectionRecord& record, Clock::TimePoint now) {
  {
    std::lock_guard lock(mu_);
    observed_ = record;
    observed_time_ = now;
  }
  if (record.holder_identity != reported_leader_) {
    reported_leader_ = record.holder_identity;
    LB_LOG_INFO("leader election: lease {}/{}: {}", config_.ns, config_.name,
                record.holder_identity.empty() ? std::string("released, no leader")
                                               : "leader is now " + record.holder_identity);
  }
}

Clock::Duration LeaderElector::Jittered() {
  std::uniform_real_distribution<double> dist(0.0, kJitterFactor);
  const auto base = std::chrono::duration_cast<Clock::Duration>(config_.retry_period);
  return base + std::chrono::duration_cast<Clock::Duration>(base * dist(rng_));
}

void LeaderElector::LogFailure(std::string_view what, const Status& status,
                               const CancellationToken& token) const {
  if (status.code() == absl::StatusCode::kAborted) {
    // Someone else wrote the Lease since we read it, and won.
    LB_LOG_INFO("leader election: lease {}/{} changed before {} could write it", config_.ns,
                config_.name, config_.identity);
  } else if (status.code() == absl::StatusCode::kAlreadyExists || token.IsCancelled()) {
    // Another candidate created it first; or we were told to stop, or ran out of time (the
    // caller says so).
    LB_LOG_DEBUG("leader election: {} lease {}/{}: {}", what, config_.ns, config_.name,
                 Str(status));
  } else {
    LB_LOG_WARN("leader election: {} lease {}/{}: {}", what, config_.ns, config_.name, Str(status));
  }
}

Status LeaderElector::CreateLease(const LeaderElectionRecord& record,
                                  const CancellationToken& token) {
  boost::json::object lease{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}};
  lease["metadata"] = boost::json::object{{"name", boost::json::string(config_.name)},
                                          {"namespace", boost::json::string(config_.ns)}};
  lease["spec"] = SpecOf(record);
  LIFEBOAT_ASSIGN_OR_RETURN(
      lease_, client_->Create(kLeases, config_.ns, boost::json::value(std::move(lease)),
                              {.cancel = token}));
  return absl::OkStatus();
}

Status LeaderElector::WriteLease(const LeaderElectionRecord& record,
                                 const CancellationToken& token) {
  // lease_ carries the resourceVersion last read: the server refuses the write (Aborted) if
  // anyone wrote the Lease since.
  boost::json::value update = lease_;
  update.as_object()["apiVersion"] = "coordination.k8s.io/v1";
  update.as_object()["kind"] = "Lease";
  update.as_object()["spec"] = SpecOf(record);
  LIFEBOAT_ASSIGN_OR_RETURN(lease_,
                            client_->Update(kLeases, config_.ns, update, {.cancel = token}));
  return absl::OkStatus();
}

LeaderElector::Attempt LeaderElector::Written(const LeaderElectionRecord& record,
                                              Clock::TimePoint valid_until) {
  SetObserved(record, clock_->Now());
  std::lock_guard lock(mu_);
  valid_until_ = valid_until;
  return Attempt::kSucceeded;
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew(const CancellationToken& token) {
  const Clock::TimePoint now = clock_->Now();
  LeaderElectionRecord record{config_.identity, lease_duration_seconds_, FormatMicroTime(now),
                              FormatMicroTime(now), 0};
  // Others count from when they see our write, which is after `now`.
  const auto valid_until = now + std::chrono::seconds(lease_duration_seconds_);
  StatusOr<boost::json::value> got =
      client_->Get(kLeases, config_.ns, config_.name, {.cancel = token});
  if (!got.ok() && got.status().code() == absl::StatusCode::kNotFound) {
    Status created = CreateLease(record, token);
    if (!created.ok()) {
      LogFailure("creating", created, token);
      return Attempt::kFailed;
    }
    return Written(record, valid_until);
  }
  if (!got.ok()) {
    LogFailure("reading", got.status(), token);
    return Attempt::kFailed;
  }
  const LeaderElectionRecord old = LeaderElectionRecordFromLease(*got);
  lease_ = std::move(*got);
  Clock::TimePoint observed_time;
  {
    std::lock_guard lock(mu_);
    observed_time = observed_ == old ? observed_time_ : clock_->Now();
  }
  SetObserved(old, observed_time);
  const bool mine = old.holder_identity == config_.identity;
  const Clock::Duration old_duration =
      old.lease_duration_seconds > 0
          ? Clock::Duration(std::chrono::seconds(old.lease_duration_seconds))
          : Clock::Duration(config_.lease_duration);
  if (!old.holder_identity.empty() && !mine && observed_time + old_duration > now) {
    LB_LOG_DEBUG("leader election: lease {}/{} is held by {} and has not yet expired", config_.ns,
                 config_.name, old.holder_identity);
    return Attempt::kHeldByOther;
  }
  if (mine) {
    record.acquire_time = old.acquire_time;
    record.lease_transitions = old.lease_transitions;
  } else {
    record.lease_transitions = old.lease_transitions + 1;
  }
  Status written = WriteLease(record, token);
  if (!written.ok()) {
    LogFailure("updating", written, token);
    return Attempt::kFailed;
  }
  return Written(record, valid_until);
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenewWithDeadline(
    Clock::TimePoint deadline, const CancellationToken& parent) {
  if (clock_->Now() >= deadline) return Attempt::kFailed;
  Attempt result = Attempt::kFailed;
  WithDeadline(deadline, parent,
               [&](const CancellationToken& token) { result = TryAcquireOrRenew(token); });
  return result;
}

void LeaderElector::WithDeadline(Clock::TimePoint deadline, const CancellationToken& parent,
                                 const std::function<void(const CancellationToken&)>& fn) {
  CancellationSource bound = CancellationSource::ChildOf(parent);
  CancellationSource stop;
  std::thread timer([&] {
    if (clock_->SleepUntil(deadline, stop.token())) bound.Cancel("deadline exceeded");
  });
  fn(bound.token());
  stop.Cancel("done");
  timer.join();
}

bool LeaderElector::Acquire(const CancellationToken& cancel) {
  LB_LOG_INFO("leader election: {} is trying to acquire lease {}/{}", config_.identity, config_.ns,
              config_.name);
  while (!cancel.IsCancelled()) {
    const Attempt a = TryAcquireOrRenewWithDeadline(clock_->Now() + config_.renew_deadline, cancel);
    if (a == Attempt::kSucceeded) {
      LB_LOG_INFO("leader election: {} acquired lease {}/{}", config_.identity, config_.ns,
                  config_.name);
      return true;
    }
    if (!clock_->SleepFor(Jittered(), cancel)) break;
  }
  return false;
}

bool LeaderElector::RenewCycle() {
  Clock::TimePoint deadline = clock_->Now() + config_.renew_deadline;
  {
    std::lock_guard lock(mu_);
    deadline = std::min(deadline, valid_until_);
  }
  const CancellationToken never;
  for (;;) {
    const Attempt a = TryAcquireOrRenewWithDeadline(deadline, never);
    if (a == Attempt::kSucceeded) return true;
    if (a == Attempt::kHeldByOther) {
      LB_LOG_WARN("leader election: lease {}/{} was taken by {}", config_.ns, config_.name,
                  CurrentLeader());
      return false;
    }
    const Clock::TimePoint next = std::min(clock_->Now() + config_.retry_period, deadline);
    clock_->SleepUntil(next, never);
    if (clock_->Now() >= deadline) {
      LB_LOG_WARN("leader election: {} could not renew lease {}/{} within {} ms", config_.identity,
                  config_.ns, config_.name, config_.renew_deadline.count());
      return false;
    }
  }
}

bool LeaderElector::RenewUntilDone(const CancellationToken& cancel, CancellationSource& work,
                                   const CancellationToken& work_done) {
  bool shutting_down = false;
  for (;;) {
    std::vector<CancellationToken> wake_on;
    if (!shutting_down) wake_on.push_back(cancel);
    if (!work_done.IsCancelled()) wake_on.push_back(work_done);
    {
      AnyOf wake(wake_on);
      clock_->SleepFor(config_.retry_period, wake.token());
    }
    if (!shutting_down && cancel.IsCancelled()) {
      shutting_down = true;
      LB_LOG_INFO("leader election: {} is shutting down; stopping the leader's work",
                  config_.identity);
      work.Cancel("shutting down");
    }
    if (shutting_down && work_done.IsCancelled()) return true;
    if (!RenewCycle()) return false;
  }
}

void LeaderElector::Release() {
  if (!HolderIsMe()) return;
  const Clock::TimePoint now = clock_->Now();
  LeaderElectionRecord record{"", 1, FormatMicroTime(now), FormatMicroTime(now), 0};
  {
    std::lock_guard lock(mu_);
    record.lease_transitions = observed_.lease_transitions;
  }
  Status written;
  WithDeadline(now + config_.renew_deadline, CancellationToken(),
               [&](const CancellationToken& token) { written = WriteLease(record, token); });
  if (!written.ok()) {
    LB_LOG_WARN("leader election: releasing lease {}/{}: {}", config_.ns, config_.name,
                Str(written));
    return;
  }
  SetObserved(record, clock_->Now());
}

Status LeaderElector::Run(const CancellationToken& cancel,
                          std::function<void(CancellationToken)> on_started_leading,
                          std::function<void()> on_stopped_leading) {
  LIFEBOAT_RETURN_IF_ERROR(Validate(on_started_leading));
  if (ran_.exchange(true)) {
    return absl::FailedPreconditionError("leader election: Run may be called only once");
  }
  if (!Acquire(cancel)) return absl::OkStatus();
  if (cancel.IsCancelled()) {
    // Acquired just as we were told to stop: hand the Lease back without starting any work.
    if (config_.release_on_cancel) Release();
    return absl::OkStatus();
  }
  {
    std::lock_guard lock(mu_);
    leading_ = true;
  }
  LB_LOG_INFO("leader election: {} started leading", config_.identity);
  CancellationSource work;
  CancellationSource work_done;
  std::thread worker([&] {
    on_started_leading(work.token());
    work_done.Cancel("returned");
  });
  const bool shutdown = RenewUntilDone(cancel, work, work_done.token());
  {
    std::lock_guard lock(mu_);
    leading_ = false;
  }
  if (!shutdown) work.Cancel("leadership lost");
  worker.join();
  if (shutdown && config_.release_on_cancel) Release();
  LB_LOG_INFO("leader election: {} stopped leading ({})", config_.identity,
              shutdown ? "shut down" : "leadership lost");
  if (on_stopped_leading) on_stopped_leading();
  if (shutdown) return absl::OkStatus();
  return absl::AbortedError("leader election: leadership of lease " + config_.ns + "/" +
                            config_.name + " lost");
}

}  // namespace lifeboat::kube
