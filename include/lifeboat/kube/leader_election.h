#pragma once

// Leader election through a coordination.k8s.io/v1 Lease, with client-go's leaderelection
// semantics, so that two replicas of `lifeboat server` never both act.
//
// The Lease's spec is the election record: holderIdentity, leaseDurationSeconds, acquireTime,
// renewTime (MicroTime, written for people and other tools; never read back as a time) and
// leaseTransitions. Every attempt reads the Lease (creating it when it does not exist) and
// writes it back with the resourceVersion it read, so of two candidates writing at once the
// second gets a conflict (Aborted) and loses.
//
// Time is never compared across machines. A candidate that finds the Lease held by someone
// else notes, by its own clock, when it first saw the record as it is now ("observed time"),
// and may take the Lease only when the record has not changed for the record's
// leaseDurationSeconds after that. A released Lease (holderIdentity "") may be taken at once.
//
// The leader renews every retry_period. A renewal that does not succeed within renew_deadline
// (retrying every retry_period) means leadership is lost: the token given to
// on_started_leading is cancelled, on_stopped_leading runs, and Run returns. IsLeader() is
// stricter still: it turns false at the latest when the last successful write, counted from
// before it was sent, has aged leaseDurationSeconds, the earliest time another candidate could
// take over, even if the elector's thread is starved.
//
// Differences from client-go, all on the safe side: on shutdown the leader keeps renewing until
// on_started_leading has returned and only then releases the Lease, so the next leader never
// overlaps with work that is still stopping; each acquire attempt is also bounded by
// renew_deadline; leaseDurationSeconds is lease_duration rounded up to whole seconds (at least
// 1); on_stopped_leading runs only if this elector led.
//
// Thread safety: IsLeader() and CurrentLeader() may be called from any thread at any time. Run
// may be called once per LeaderElector. The DynamicClient (and the Clock) must outlive it. Give
// the elector a RestClient of its own (as client-go recommends) when the process shares one
// with heavy listing, so the client-side rate limiter cannot starve renewals.

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::kube {

struct LeaderElectionConfig {
  std::string ns;        // the Lease's namespace
  std::string name;      // the Lease's name
  std::string identity;  // unique per process (e.g. "<pod name>_<random>")
  // How long others wait, after they last saw the record change, before taking the Lease.
  std::chrono::milliseconds lease_duration{15000};
  // How long the leader keeps trying to renew before it gives up leadership.
  std::chrono::milliseconds renew_deadline{10000};
  // The interval between attempts (acquiring: plus a jitter of up to 1.2 times it).
  std::chrono::milliseconds retry_period{2000};
  // On cancellation, give the Lease up (holderIdentity "", leaseDurationSeconds 1) so that
  // another candidate takes over at once instead of after lease_duration.
  bool release_on_cancel = true;
  Clock* clock = nullptr;  // nullptr: RealClock()
};

// The Lease spec as read or written.
struct LeaderElectionRecord {
  std::string holder_identity;
  int64_t lease_duration_seconds = 0;
  std::string acquire_time;  // MicroTime text, e.g. "2024-05-01T10:00:00.000000Z"
  std::string renew_time;
  int64_t lease_transitions = 0;

  bool operator==(const LeaderElectionRecord&) const = default;
};

// The record in a Lease object's spec (missing fields are empty/0).
LeaderElectionRecord LeaderElectionRecordFromLease(const boost::json::value& lease);
// Metav1.MicroTime text of `t` (UTC, microseconds).
std::string FormatMicroTime(Clock::TimePoint t);

class LeaderElector {
 public:
  LeaderElector(DynamicClient* client, LeaderElectionConfig config);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Blocks. Campaigns until it acquires the Lease, then starts on_started_leading(token) on a
  // thread of its own (the token is cancelled when leadership is lost or `cancel` fires) and
  // keeps renewing. Returns:
  //   OK when `cancel` fired (before leading, or after: then once on_started_leading has
  //     returned, the Lease is released if configured, and on_stopped_leading has run);
  //   Aborted ("leadership lost") when a renewal failed for renew_deadline or another holder
  //     was found (on_started_leading has returned and on_stopped_leading has run);
  //   InvalidArgument for a bad config (lease_duration must exceed renew_deadline, which must
  //     exceed 1.2 × retry_period; names and identity non-empty; on_started_leading set);
  //   FailedPrecondition when Run is called a second time.
  // on_started_leading must return soon after its token is cancelled: Run waits for it.
  // on_stopped_leading may be empty.
  Status Run(const CancellationToken& cancel,
             std::function<void(CancellationToken)> on_started_leading,
             std::function<void()> on_stopped_leading);

  // True while this elector leads and its lease cannot yet have expired for others.
  bool IsLeader() const;
  // The holder in the last record observed ("" before any, or when released).
  std::string CurrentLeader() const;

 private:
  enum class Attempt { kSucceeded, kHeldByOther, kFailed };

  Status Validate(const std::function<void(CancellationToken)>& on_started_leading) const;
  // One Get (+ Create or Update). `token` bounds the requests.
  Attempt TryAcquireOrRenew(const CancellationToken& token);
  // The same, cancelled at `deadline` or when `parent` is.
  Attempt TryAcquireOrRenewWithDeadline(Clock::TimePoint deadline, const CancellationToken& parent);
  bool Acquire(const CancellationToken& cancel);
  // One renewal cycle: retries until success or the deadline. False when leadership is lost.
  bool RenewCycle();
  // Renews until leadership is lost (false) or `cancel` fired and `work_done` (true).
  bool RenewUntilDone(const CancellationToken& cancel, CancellationSource& work,
                      const CancellationToken& work_done);
  void Release();
  // Runs fn with a token cancelled at `deadline` or when `parent` is.
  void WithDeadline(Clock::TimePoint deadline, const CancellationToken& parent,
                    const std::function<void(const CancellationToken&)>& fn);
  Status CreateLease(const LeaderElectionRecord& record, const CancellationToken& token);
  // Writes `record` into the Lease last read, with its resourceVersion.
  Status WriteLease(const LeaderElectionRecord& record, const CancellationToken& token);
  Attempt Written(const LeaderElectionRecord& record, Clock::TimePoint valid_until);
  void LogFailure(std::string_view what, const Status& status,
                  const CancellationToken& token) const;
  void SetObserved(const LeaderElectionRecord& record, Clock::TimePoint now);
  bool HolderIsMe() const;
  Clock::Duration Jittered();

  DynamicClient* client_;
  LeaderElectionConfig config_;
  Clock* clock_;
  int64_t lease_duration_seconds_;
  std::atomic<bool> ran_{false};
  std::mt19937_64 rng_;

  mutable std::mutex mu_;
  LeaderElectionRecord observed_;     // guarded by mu_
  Clock::TimePoint observed_time_{};  // guarded by mu_
  boost::json::value lease_;          // last Lease read or written (Run's thread only)
  bool leading_ = false;              // guarded by mu_
  Clock::TimePoint valid_until_{};    // guarded by mu_
  std::string reported_leader_;       // Run's thread only
};

}  // namespace lifeboat::kube
