#include "src/archive/gzip_members.h"

#include <libdeflate.h>

#include <array>

namespace lifeboat::archive {
namespace {

void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};

}  // namespace

StatusOr<std::string> CompressGzipMember(std::string_view input, int level) {
  // One compressor per thread: libdeflate compressors are not shared between threads.
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor;
  thread_local int compressor_level = -1;
  if (!compressor || compressor_level != level) {
    compressor.reset(libdeflate_alloc_compressor(level));
    compressor_level = level;
    if (!compressor) return absl::ResourceExhaustedError("cannot allocate a deflate compressor");
  }
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown), as Go's gzip.Writer writes.
  static constexpr std::array<unsigned char, 10> kHeader = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  std::string out(reinterpret_cast<const char*>(kHeader.data()), kHeader.size());
  size_t bound = libdeflate_deflate_compress_bound(compressor.get(), input.size());
  out.resize(kHeader.size() + bound);
  size_t n = libdeflate_deflate_compress(compressor.get(), input.data(), input.size(),
                                         out.data() + kHeader.size(), bound);
  if (n == 0) return absl::InternalError("deflate output exceeded its bound");
  out.resize(kHeader.size() + n);
  PutLe32(out, libdeflate_crc32(0, input.data(), input.size()));
  PutLe32(out, static_cast<uint32_t>(input.size()));  // ISIZE is the size modulo 2^32
  return out;
}

GzipMemberPool::GzipMemberPool(ByteSink* sink, int level, int threads)
    : sink_(sink), level_(level), max_in_flight_(static_cast<size_t>(threads)) {
  workers_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

GzipMemberPool::~GzipMemberPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void GzipMemberPool::WorkerLoop() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
      if (stopping_) return;
      job = std::move(todo_.front());
      todo_.pop_front();
    }
    StatusOr<std::string> member = CompressGzipMember(job->input, level_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (member.ok()) {
        job->output = std::move(*member);
      } else {
        job->status = member.status();
      }
      job->input = std::string();  // release the uncompressed piece early
      job->done = true;
    }
    done_cv_.notify_all();
  }
}

Status GzipMemberPool::WriteOldest() {
  std::shared_ptr<Job> job = std::move(in_flight_.front());
  in_flight_.pop_front();
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&job] { return job->done; });
  }
  LIFEBOAT_RETURN_IF_ERROR(job->status);
  return sink_->Write(job->output);
}

Status GzipMemberPool::Submit(std::string input) {
  while (in_flight_.size() >= max_in_flight_) LIFEBOAT_RETURN_IF_ERROR(WriteOldest());
  auto job = std::make_shared<Job>();
  job->input = std::move(input);
  in_flight_.push_back(job);
  {
    std::lock_guard<std::mutex> lock(mu_);
    todo_.push_back(std::move(job));
  }
  work_cv_.notify_one();
  return absl::OkStatus();
}

Status GzipMemberPool::Finish() {
  while (!in_flight_.empty()) LIFEBOAT_RETURN_IF_ERROR(WriteOldest());
  return absl::OkStatus();
}

}  // namespace lifeboat::archive
