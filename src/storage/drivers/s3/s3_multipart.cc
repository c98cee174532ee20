// Multipart uploads: parts read sequentially from the body, uploaded by a small pool of
// workers, committed by CompleteMultipartUpload, aborted on any failure.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <pugixml.hpp>
#include <sstream>
#include <thread>

#include "lifeboat/common/log.h"
#include "src/storage/drivers/s3/checksum.h"
#include "src/storage/drivers/s3/s3_store.h"

namespace lifeboat::storage::s3 {
namespace {

constexpr int kMaxParts = 10000;

bool Ok2xx(int status) { return status >= 200 && status < 300; }

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// State shared by the reader (the calling thread) and the part-upload workers.
struct UploadState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<int, std::string>> queue;  // part number, data
  int busy = 0;                                   // parts queued or uploading
  bool done = false;                              // no more parts will be queued
  Status error;                                   // first part failure
  std::vector<std::string> etags, checksums;      // by part number - 1
};

using UploadFn = std::function<StatusOr<std::string>(int number, const std::string& data,
                                                     std::string* checksum)>;

// A worker: uploads queued parts until the queue is closed and empty, or a part failed.
void RunPartWorker(UploadState& st, const UploadFn& upload) {
  for (;;) {
    std::pair<int, std::string> part;
    {
      std::unique_lock<std::mutex> lock(st.mu);
      st.cv.wait(lock, [&] { return !st.queue.empty() || st.done || !st.error.ok(); });
      if (!st.error.ok() || st.queue.empty()) return;
      part = std::move(st.queue.front());
      st.queue.pop_front();
    }
    std::string checksum;
    auto etag = upload(part.first, part.second, &checksum);
    std::string().swap(part.second);  // frees the buffer now (move-assigning would keep it)
    {
      std::lock_guard<std::mutex> lock(st.mu);
      if (!etag.ok()) {
        if (st.error.ok()) st.error = etag.status();
      } else {
        if (st.etags.size() < static_cast<size_t>(part.first)) {
          st.etags.resize(part.first);
          st.checksums.resize(part.first);
        }
        st.etags[part.first - 1] = *etag;
        st.checksums[part.first - 1] = std::move(checksum);
      }
      --st.busy;
    }
    st.cv.notify_all();
  }
}

// The reader: cuts `body` into parts (the first already read, `carry` starting the second) and
// queues them, reserving an upload slot before reading each one so that at most `concurrency`
// parts are in memory. Returns the body's own error (or too many parts); stops quietly when a
// part upload failed (st.error).
Status QueueParts(UploadState& st, ByteSource& body, std::string first, std::string carry,
                  int64_t part_size, int concurrency, const std::string& what, int64_t* total) {
  int number = 0;
  std::string next = std::move(first);
  for (bool first_part = true;; first_part = false) {
    {
      std::unique_lock<std::mutex> lock(st.mu);
      st.cv.wait(lock, [&] { return st.busy < concurrency || !st.error.ok(); });
      if (!st.error.ok()) return absl::OkStatus();
      ++st.busy;
    }
    auto release_slot = [&] {
      std::lock_guard<std::mutex> lock(st.mu);
      --st.busy;
    };
    if (!first_part) {
      next = std::move(carry);
      carry.clear();
      auto got = ReadUpTo(body, static_cast<size_t>(part_size) - next.size(), &next);
      if (!got.ok() || next.empty()) {
        release_slot();
        return got.status();
      }
    }
    if (number == kMaxParts) {
      release_slot();
      return absl::InvalidArgumentError(
          what + ": body of unknown size exceeds " + std::to_string(kMaxParts) + " parts of " +
          std::to_string(part_size) + " bytes (raise partSizeInBytes)");
    }
    bool last = static_cast<int64_t>(next.size()) < part_size;
    *total += static_cast<int64_t>(next.size());
    {
      std::lock_guard<std::mutex> lock(st.mu);
      st.queue.emplace_back(++number, std::move(next));
    }
    st.cv.notify_all();
    if (last) return absl::OkStatus();
  }
}

}  // namespace

StatusOr<std::string> S3ObjectStore::CreateUpload(std::string_view bucket, std::string_view key) {
  S3Call call;
  call.method = "POST";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.query = {{"uploads", ""}};
  call.headers = WriteHeaders();
  if (settings_.checksum != ChecksumAlgorithm::kNone) {
    call.headers.emplace_back("x-amz-checksum-algorithm",
                              std::string(ChecksumName(settings_.checksum)));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  if (!Ok2xx(resp.status)) {
    return S3Error(resp.status, resp.body, "CreateMultipartUpload", bucket, key, &resp.headers);
  }
  pugi::xml_document doc;
  doc.load_buffer(resp.body.data(), resp.body.size());
  std::string id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (id.empty()) {
    return absl::DataLossError("CreateMultipartUpload " + Describe(bucket, key) +
                               ": answer without UploadId");
  }
  return id;
}

StatusOr<std::string> S3ObjectStore::UploadPart(std::string_view bucket, std::string_view key,
                                                const std::string& upload_id, int number,
                                                const std::string& data, std::string* checksum) {
  S3Call call;
  call.method = "PUT";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  call.headers = SseCustomerHeaders();
  if (settings_.checksum != ChecksumAlgorithm::kNone) {
    *checksum = ComputeChecksum(settings_.checksum, data);
    call.headers.emplace_back(ChecksumHeader(settings_.checksum), *checksum);
  }
  call.body = data;
  call.timeout = settings_.transfer_timeout;
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  std::string what = "UploadPart " + std::to_string(number);
  if (!Ok2xx(resp.status)) return S3Error(resp.status, resp.body, what, bucket, key, &resp.headers);
  std::string etag = resp.Header("ETag");
  if (etag.empty()) return absl::DataLossError(what + " " + Describe(bucket, key) + ": no ETag");
  return etag;
}

Status S3ObjectStore::CompleteUpload(std::string_view bucket, std::string_view key,
                                     const std::string& upload_id,
                                     const std::vector<std::string>& etags,
                                     const std::vector<std::string>& checksums) {
  std::ostringstream xml;
  xml << "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  std::string tag = "Checksum" + std::string(ChecksumName(settings_.checksum));
  for (size_t i = 0; i < etags.size(); ++i) {
    xml << "<Part><PartNumber>" << (i + 1) << "</PartNumber><ETag>" << XmlEscape(etags[i])
        << "</ETag>";
    if (!checksums[i].empty()) xml << "<" << tag << ">" << checksums[i] << "</" << tag << ">";
    xml << "</Part>";
  }
  xml << "</CompleteMultipartUpload>";
  S3Call call;
  call.method = "POST";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.query = {{"uploadId", upload_id}};
  call.headers = {{"Content-Type", "application/xml"}};
  std::string body = xml.str();
  call.body = body;
  call.timeout = settings_.transfer_timeout;  // S3 may take minutes to assemble large objects
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  // S3 can answer 200 and still fail, with an <Error> document.
  pugi::xml_document doc;
  bool parsed = doc.load_buffer(resp.body.data(), resp.body.size());
  if (!Ok2xx(resp.status) || (parsed && doc.child("Error"))) {
    return S3Error(resp.status, resp.body, "CompleteMultipartUpload", bucket, key, &resp.headers);
  }
  return absl::OkStatus();
}

void S3ObjectStore::AbortUpload(std::string_view bucket, std::string_view key,
                                const std::string& upload_id) {
  S3Call call;
  call.method = "DELETE";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.query = {{"uploadId", upload_id}};
  auto resp = requester_->Send(call);
  Status st = resp.ok()
                  ? (Ok2xx(resp->status) || resp->status == 404
                         ? absl::OkStatus()
                         : S3Error(resp->status, resp->body, "AbortMultipartUpload", bucket, key))
                  : resp.status();
  if (!st.ok()) {
    LB_LOG_WARN(
        "aborting the multipart upload of {} failed (a bucket lifecycle rule for "
        "incomplete uploads cleans up its parts): {}",
        Describe(bucket, key), st.ToString());
  }
}

Status S3ObjectStore::PutMultipart(std::string_view bucket, std::string_view key, ByteSource& body,
                                   std::string first, std::string carry, int64_t part_size,
                                   int64_t declared_size) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string upload_id, CreateUpload(bucket, key));
  UploadState st;
  std::vector<std::thread> workers;
  for (int i = 0; i < settings_.concurrency; ++i) {
    workers.emplace_back([&] {
      RunPartWorker(st, [&](int number, const std::string& data, std::string* checksum) {
        return UploadPart(bucket, key, upload_id, number, data, checksum);
      });
    });
  }
  int64_t total = 0;
  Status read_status = QueueParts(st, body, std::move(first), std::move(carry), part_size,
                                  settings_.concurrency, "PUT " + Describe(bucket, key), &total);
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.done = true;
  }
  st.cv.notify_all();
  for (auto& w : workers) w.join();

  Status result = !read_status.ok() ? read_status : st.error;
  if (result.ok() && declared_size >= 0 && total != declared_size) {
    result = absl::DataLossError("PUT " + Describe(bucket, key) + ": body delivered " +
                                 std::to_string(total) + " bytes, expected " +
                                 std::to_string(declared_size));
  }
  if (result.ok()) result = CompleteUpload(bucket, key, upload_id, st.etags, st.checksums);
  if (!result.ok()) AbortUpload(bucket, key, upload_id);
  return result;
}

}  // namespace lifeboat::storage::s3
