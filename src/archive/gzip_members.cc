#include "src/archive/gzip_members.h"

#include <libdeflate.h>

#include <array>
#include <optional>
#include <vector>

#ifdef LIFEBOAT_ARCHIVE_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

namespace lifeboat::archive {
namespace {

void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};

// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown), as Go's gzip.Writer writes.
constexpr std::array<unsigned char, 10> kGzipHeader = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};

// This thread's scratch buffer for compressed output of up to `size` bytes: kept between
// members and never zero-filled (a fresh zeroed buffer per member cost as much as igzip itself).
char* Scratch(size_t size) {
  thread_local std::unique_ptr<char[]> buffer;
  thread_local size_t capacity = 0;
  if (capacity < size) {
    buffer.reset(new char[size]);
    capacity = size;
  }
  return buffer.get();
}

// The member: header, the raw DEFLATE bytes, CRC-32 and ISIZE of `input`.
std::string Member(std::string_view input, const char* deflated, size_t n) {
  std::string out;
  out.reserve(kGzipHeader.size() + n + 8);
  out.append(reinterpret_cast<const char*>(kGzipHeader.data()), kGzipHeader.size());
  out.append(deflated, n);
  PutLe32(out, libdeflate_crc32(0, input.data(), input.size()));
  PutLe32(out, static_cast<uint32_t>(input.size()));  // ISIZE is the size modulo 2^32
  return out;
}

#ifdef LIFEBOAT_ARCHIVE_HAVE_ISAL
// One gzip member with igzip level 1 (stateless: the whole piece at once); nullopt when the
// output did not fit its buffer (incompressible input), so the caller falls back to libdeflate.
std::optional<std::string> IgzipMember(std::string_view input) {
  thread_local std::vector<uint8_t> level_buf(ISAL_DEF_LVL1_DEFAULT);
  // Room for stored blocks plus Huffman headers: what incompressible input would need.
  const size_t room = input.size() + input.size() / 16 + 4 * ISAL_DEF_MAX_HDR_SIZE + 1024;
  char* deflated = Scratch(room);
  isal_zstream s;
  isal_deflate_stateless_init(&s);
  s.level = 1;
  s.level_buf = level_buf.data();
  s.level_buf_size = static_cast<uint32_t>(level_buf.size());
  s.gzip_flag = IGZIP_DEFLATE;  // raw DEFLATE: the header and trailer are ours
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(input.data()));
  s.avail_in = static_cast<uint32_t>(input.size());
  s.next_out = reinterpret_cast<uint8_t*>(deflated);
  s.avail_out = static_cast<uint32_t>(room);
  if (isal_deflate_stateless(&s) != COMP_OK || s.avail_in != 0) return std::nullopt;
  return Member(input, deflated, s.total_out);
}
#endif

}  // namespace

bool FastCompressorAvailable() {
#ifdef LIFEBOAT_ARCHIVE_HAVE_ISAL
  return true;
#else
  return false;
#endif
}

StatusOr<std::string> CompressGzipMember(std::string_view input, int level, Compressor compressor) {
#ifdef LIFEBOAT_ARCHIVE_HAVE_ISAL
  // igzip's stateless API takes 32-bit sizes; bigger pieces (never the writer's) use libdeflate.
  if (compressor == Compressor::kFastest && input.size() < (size_t{1} << 31)) {
    if (std::optional<std::string> member = IgzipMember(input)) return std::move(*member);
  }
#else
  (void)compressor;
#endif
  return CompressGzipMember(input, level);
}

StatusOr<std::string> CompressGzipMember(std::string_view input, int level) {
  // One compressor per thread: libdeflate compressors are not shared between threads.
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor;
  thread_local int compressor_level = -1;
  if (!compressor || compressor_level != level) {
    compressor.reset(libdeflate_alloc_compressor(level));
    compressor_level = level;
    if (!compressor) return absl::ResourceExhaustedError("cannot allocate a deflate compressor");
  }
  const size_t bound = libdeflate_deflate_compress_bound(compressor.get(), input.size());
  char* deflated = Scratch(bound);
  const size_t n = libdeflate_deflate_compress(compressor.get(), input.data(), input.size(),
                                               deflated, bound);
  if (n == 0) return absl::InternalError("deflate output exceeded its bound");
  return Member(input, deflated, n);
}

GzipMemberPool::GzipMemberPool(ByteSink* sink, int level, int threads, Compressor compressor)
    : sink_(sink), level_(level), compressor_(compressor),
      max_in_flight_(static_cast<size_t>(threads)) {
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
    StatusOr<std::string> member = CompressGzipMember(job->input, level_, compressor_);
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
