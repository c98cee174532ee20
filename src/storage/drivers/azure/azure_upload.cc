// Uploads: Put Blob for bodies that fit in one block, Put Block + Put Block List otherwise.

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "src/storage/drivers/azure/azure_internal.h"
#include "src/storage/drivers/azure/azure_strings.h"

namespace lifeboat::storage::azure {
namespace {

// Delivers exactly `size` bytes of `inner` or fails with DataLoss before the last byte is
// handed out, so that a body longer or shorter than it claims is never committed.
class ExactSizeSource : public ByteSource {
 public:
  ExactSizeSource(ByteSource& inner, int64_t size) : inner_(inner), size_(size) {}

  StatusOr<size_t> Read(std::span<char> buffer) override {
    int64_t left = size_ - delivered_;
    if (left == 0) return 0;
    size_t want = static_cast<size_t>(std::min<int64_t>(left, buffer.size()));
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, inner_.Read(buffer.subspan(0, want)));
    if (n == 0) {
      return absl::DataLossError(
          StrCat("body ended after ", delivered_, " of ", size_, " bytes it announced"));
    }
    delivered_ += static_cast<int64_t>(n);
    if (delivered_ == size_) {
      char extra;
      LIFEBOAT_ASSIGN_OR_RETURN(size_t more, inner_.Read(std::span<char>(&extra, 1)));
      if (more > 0) {
        return absl::DataLossError(
            StrCat("body is longer than the ", size_, " bytes it announced"));
      }
    }
    return n;
  }
  Status Rewind() override {
    LIFEBOAT_RETURN_IF_ERROR(inner_.Rewind());
    delivered_ = 0;
    return absl::OkStatus();
  }
  int64_t Size() const override { return size_; }

 private:
  ByteSource& inner_;
  const int64_t size_;
  int64_t delivered_ = 0;
};

// Reads up to `max` bytes (fewer only at the end of the body).
StatusOr<std::string> ReadBlock(ByteSource& body, int64_t max) {
  std::string block(static_cast<size_t>(max), '\0');
  size_t filled = 0;
  while (filled < block.size()) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        size_t n, body.Read(std::span<char>(block.data() + filled, block.size() - filled)));
    if (n == 0) break;
    filled += n;
  }
  block.resize(filled);
  return block;
}

std::string Md5Base64(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return absl::Base64Escape(std::string(reinterpret_cast<char*>(md), len));
}

// A random tag per upload: concurrent uploads of one key must not share uncommitted blocks.
std::string UploadTag() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    auto t = std::chrono::steady_clock::now().time_since_epoch().count();
    std::memcpy(bytes, &t, sizeof bytes);
  }
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(bytes), sizeof bytes));
}

// Bounded hand-off of blocks from the reading thread to the uploading workers.
struct BlockQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> blocks;  // {block id, data}
  bool closed = false;
  Status error;
};

// A worker: uploads queued blocks until the queue is closed and empty or an upload failed.
void UploadBlocks(BlockQueue& q,
                  const std::function<Status(const std::string&, const std::string&)>& put) {
  std::unique_lock<std::mutex> lock(q.mu);
  while (true) {
    q.cv.wait(lock, [&] { return !q.blocks.empty() || q.closed || !q.error.ok(); });
    if (!q.error.ok() || q.blocks.empty()) return;
    auto block = std::move(q.blocks.front());
    q.blocks.pop_front();
    q.cv.notify_all();
    lock.unlock();
    Status s = put(block.first, block.second);
    lock.lock();
    if (!s.ok() && q.error.ok()) q.error = s;
    q.cv.notify_all();
  }
}

}  // namespace

Status AzureBlobObjectStore::Put(std::string_view bucket, std::string_view key, ByteSource& body) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  const int64_t size = body.Size();
  if (size >= 0 && size <= settings_.block_size) return PutSingle(bucket, key, body, size);
  // Unknown or large size: read the first block; a short body still goes in one Put Blob.
  LIFEBOAT_ASSIGN_OR_RETURN(std::string first, ReadBlock(body, settings_.block_size));
  if (static_cast<int64_t>(first.size()) < settings_.block_size) {
    if (size >= 0) {
      return absl::DataLossError(StrCat("uploading ", bucket, "/", key, ": body ended after ",
                                        first.size(), " of ", size, " bytes it announced"));
    }
    auto source = StringSource(std::move(first));
    return PutSingle(bucket, key, *source, source->Size());
  }
  return PutBlocks(bucket, key, body, std::move(first));
}

Status AzureBlobObjectStore::PutSingle(std::string_view bucket, std::string_view key,
                                       ByteSource& body, int64_t size) {
  ExactSizeSource exact(body, size);
  Call call{.op = "uploading",
            .method = "PUT",
            .container = std::string(bucket),
            .blob = std::string(key)};
  call.headers = {{"Content-Type", "application/octet-stream"}, {"x-ms-blob-type", "BlockBlob"}};
  call.body_source = &exact;
  call.content_length = size;
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
  if (resp.status == 201) return absl::OkStatus();
  return BlobError(resp, resp.body, StrCat("uploading ", bucket, "/", key));
}

Status AzureBlobObjectStore::PutBlock(std::string_view bucket, std::string_view key,
                                      const std::string& block_id, const std::string& data) {
  Call call{.op = "uploading a block of",
            .method = "PUT",
            .container = std::string(bucket),
            .blob = std::string(key)};
  call.query = {{"comp", "block"}, {"blockid", block_id}};
  call.headers = {{"Content-MD5", Md5Base64(data)}};
  call.body = data;
  call.content_length = static_cast<int64_t>(data.size());
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
  if (resp.status == 201) return absl::OkStatus();
  return BlobError(resp, resp.body, StrCat("uploading a block of ", bucket, "/", key));
}

Status AzureBlobObjectStore::CommitBlocks(std::string_view bucket, std::string_view key,
                                          const std::vector<std::string>& block_ids) {
  Call call{.op = "committing",
            .method = "PUT",
            .container = std::string(bucket),
            .blob = std::string(key)};
  call.query = {{"comp", "blocklist"}};
  call.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (const auto& id : block_ids) StrAppend(&call.body, "<Latest>", id, "</Latest>");
  StrAppend(&call.body, "</BlockList>");
  call.headers = {{"Content-Type", "application/xml"},
                  {"x-ms-blob-content-type", "application/octet-stream"}};
  call.content_length = static_cast<int64_t>(call.body.size());
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
  if (resp.status == 201) return absl::OkStatus();
  return BlobError(resp, resp.body, StrCat("committing ", bucket, "/", key));
}

// Reads blocks on this thread while `upload_concurrency` workers upload them; at most
// 2 × concurrency + 1 blocks are in memory. Uncommitted blocks of a failed upload are never
// visible and Azure garbage-collects them (after a week), so nothing needs aborting.
Status AzureBlobObjectStore::PutBlocks(std::string_view bucket, std::string_view key,
                                       ByteSource& body, std::string first_block) {
  const std::string tag = UploadTag();
  const size_t limit = static_cast<size_t>(settings_.upload_concurrency);
  BlockQueue q;
  std::vector<std::thread> workers;
  for (size_t i = 0; i < limit; ++i) {
    workers.emplace_back(UploadBlocks, std::ref(q),
                         [&](const std::string& id, const std::string& data) {
                           return PutBlock(bucket, key, id, data);
                         });
  }
  std::vector<std::string> ids;
  int64_t total = 0;
  Status read_error;
  std::string block = std::move(first_block);
  while (!block.empty()) {
    ids.push_back(absl::Base64Escape(absl::StrFormat("%s-%08d", tag, ids.size())));
    total += static_cast<int64_t>(block.size());
    {
      std::unique_lock<std::mutex> lock(q.mu);
      q.cv.wait(lock, [&] { return q.blocks.size() < limit || !q.error.ok(); });
      if (!q.error.ok()) break;
      q.blocks.emplace_back(ids.back(), std::move(block));
      q.cv.notify_all();
    }
    auto next = ReadBlock(body, settings_.block_size);
    if (!next.ok()) {
      read_error = next.status();
      break;
    }
    block = std::move(*next);
  }
  {
    std::lock_guard<std::mutex> lock(q.mu);
    q.closed = true;
    if (!read_error.ok() && q.error.ok()) q.error = read_error;
    q.cv.notify_all();
  }
  for (auto& w : workers) w.join();
  if (!read_error.ok()) return read_error;  // the source's own error, unchanged
  if (!q.error.ok()) return q.error;
  if (body.Size() >= 0 && total != body.Size()) {
    return absl::DataLossError(StrCat("uploading ", bucket, "/", key, ": body delivered ", total,
                                      " bytes but announced ", body.Size()));
  }
  return CommitBlocks(bucket, key, ids);
}

}  // namespace lifeboat::storage::azure
