#pragma once

// Parallel gzip: each submitted piece becomes one complete gzip member (header with MTIME 0
// and OS 255 as Go's gzip writer writes them, raw DEFLATE from libdeflate, CRC-32, size),
// compressed on a pool of worker threads and written to the sink in submission order.
// Private to module `archive`.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lifeboat/archive/gzip_member.h"
#include "lifeboat/archive/writer.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat::archive {

class GzipMemberPool {
 public:
  // `sink` is borrowed; only the thread calling Submit/Finish writes to it. At most `threads`
  // members are in flight: Submit blocks until the oldest is written when the pool is full.
  GzipMemberPool(ByteSink* sink, int level, int threads,
                 Compressor compressor = Compressor::kLibdeflate);
  ~GzipMemberPool();  // stops the workers; members not yet written are dropped
  GzipMemberPool(const GzipMemberPool&) = delete;
  GzipMemberPool& operator=(const GzipMemberPool&) = delete;

  Status Submit(std::string input);
  // An empty buffer for the next piece: one that an earlier piece used when there is one (its
  // capacity kept, so a backup does not fault in fresh pages for every member), else a new one.
  std::string TakeBuffer();
  // Writes every member still in flight, in order.
  Status Finish();

 private:
  struct Job {
    std::string input;
    std::string output;
    Status status;
    bool done = false;
  };
  void WorkerLoop();
  // Waits for the oldest job and writes it to the sink.
  Status WriteOldest();

  ByteSink* sink_;
  int level_;
  Compressor compressor_;
  size_t max_in_flight_;
  std::mutex mu_;
  std::condition_variable work_cv_;             // a job was queued, or stopping
  std::condition_variable done_cv_;             // a job finished
  std::deque<std::shared_ptr<Job>> todo_;       // guarded by mu_
  std::deque<std::shared_ptr<Job>> in_flight_;  // submission order; owned by the caller thread
  bool stopping_ = false;                       // guarded by mu_
  // Buffers of finished members kept for reuse (at most max_in_flight_ + 1 each); guarded by mu_.
  std::vector<std::string> free_inputs_;
  std::vector<std::string> free_outputs_;
  std::vector<std::thread> workers_;
};

}  // namespace lifeboat::archive
