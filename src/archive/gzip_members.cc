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
void Member(std::string_view input, const char* deflated, size_t n, std::string& out) {
  out.clear();
  out.reserve(kGzipHeader.size() + n + 8);
  out.append(reinterpret_cast<const char*>(kGzipHeader.data()), kGzipHeader.size());
  out.append(deflated, n);
  PutLe32(out, libdeflate_crc32(0, input.data(), input.size()));
  PutLe32(out, static_cast<uint32_t>(input.size()));  // ISIZE is the size modulo 2^32
}

#ifdef LIFEBOAT_ARCHIVE_HAVE_ISAL
// One gzip member with igzip level 1 (stateless: the whole piece at once) into `out`; false when
// the output did not fit its buffer (incompressible input), so the caller falls back to libdeflate.
// igzip writes the DEFLATE data and the trailer (CRC-32, from its own CRC code, 2x as fast as
// libdeflate's here, and ISIZE); the header is ours, as Go writes it.
bool IgzipMember(std::string_view input, std::string& out) {
  thread_local std::vector<uint8_t> level_buf(ISAL_DEF_LVL1_DEFAULT);
  // Room for stored blocks plus Huffman headers: what incompressible input would need.
  const size_t room = input.size() + input.size() / 16 + 4 * ISAL_DEF_MAX_HDR_SIZE + 1024;
  char* deflated = Scratch(room);
  isal_zstream s;
  isal_deflate_stateless_init(&s);
  s.level = 1;
  s.level_buf = level_buf.data();
  s.level_buf_size = static_cast<uint32_t>(level_buf.size());
  s.gzip_flag = IGZIP_GZIP_NO_HDR;  // DEFLATE data and the gzip trailer
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(input.data()));
  s.avail_in = static_cast<uint32_t>(input.size());
  s.next_out = reinterpret_cast<uint8_t*>(deflated);
  s.avail_out = static_cast<uint32_t>(room);
  if (isal_deflate_stateless(&s) != COMP_OK || s.avail_in != 0) return false;
  out.clear();
  out.reserve(kGzipHeader.size() + s.total_out);
  out.append(reinterpret_cast<const char*>(kGzipHeader.data()), kGzipHeader.size());
  out.append(deflated, s.total_out);
  return true;
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
  std::string out;
  LIFEBOAT_RETURN_IF_ERROR(CompressGzipMemberInto(input, level, compressor, out));
  return out;
}

StatusOr<std::string> CompressGzipMember(std::string_view input, int level) {
  return CompressGzipMember(input, level, Compressor::kLibdeflate);
}

Status CompressGzipMemberInto(std::string_view input, int level, Compressor compressor, std::string& out) {
#ifdef LIFEBOAT_ARCHIVE_HAVE_ISAL
  // igzip's stateless API takes 32-bit sizes; bigger pieces (never the writer's) use libdeflate.
  if (compressor == Compressor::kFastest && input.size() < (size_t{1} << 31)) {
    if (IgzipMember(input, out)) return absl::OkStatus();
  }
#else
  (void)compressor;
#endif
  // One compressor per thread: libdeflate compressors are not shared between threads.
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> deflater;
  thread_local int deflater_level = -1;
  if (!deflater || deflater_level != level) {
    deflater.reset(libdeflate_alloc_compressor(level));
    deflater_level = level;
    if (!deflater) return absl::ResourceExhaustedError("cannot allocate a deflate compressor");
  }
  const size_t bound = libdeflate_deflate_compress_bound(deflater.get(), input.size());
  char* deflated = Scratch(bound);
  const size_t n = libdeflate_deflate_compress(deflater.get(), input.data(), input.size(),
                                               deflated, bound);
  if (n == 0) return absl::InternalError("deflate output exceeded its bound");
  Member(input, deflated, n, out);
  return absl::OkStatus();
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
    std::string output;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_outputs_.empty()) {
        output = std::move(free_outputs_.back());
        free_outputs_.pop_back();
      }
    }
    Status compressed = CompressGzipMemberInto(job->input, level_, compressor_, output);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (compressed.ok()) {
        job->output = std::move(output);
      } else {
        job->status = compressed;
      }
      // The uncompressed piece is done with: its buffer serves a later piece.
      job->input.clear();
      if (free_inputs_.size() <= max_in_flight_) free_inputs_.push_back(std::move(job->input));
      job->input = std::string();
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
  Status written = sink_->Write(job->output);
  std::lock_guard<std::mutex> lock(mu_);
  if (free_outputs_.size() <= max_in_flight_) free_outputs_.push_back(std::move(job->output));
  return written;
}

std::string GzipMemberPool::TakeBuffer() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_inputs_.empty()) return std::string();
  std::string buffer = std::move(free_inputs_.back());
  free_inputs_.pop_back();
  return buffer;
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
