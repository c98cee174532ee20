#include "src/storage/testing/in_memory_object_store.h"

#include <algorithm>
#include <set>

namespace lifeboat::storage::testing {
namespace {

constexpr size_t kChunk = 64 * 1024;

// Reads the whole body, checking it against its declared size.
StatusOr<std::string> ReadBody(ByteSource& body) {
  std::string data;
  std::string buffer(kChunk, '\0');
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, body.Read(std::span<char>(buffer.data(), buffer.size())));
    if (n == 0) break;
    data.append(buffer.data(), n);
    if (body.Size() >= 0 && static_cast<int64_t>(data.size()) > body.Size()) {
      return absl::DataLossError("body is longer than its declared size " +
                                 std::to_string(body.Size()));
    }
  }
  if (body.Size() >= 0 && static_cast<int64_t>(data.size()) != body.Size()) {
    return absl::DataLossError("body ended after " + std::to_string(data.size()) +
                               " bytes, declared size " + std::to_string(body.Size()));
  }
  return data;
}

}  // namespace

Status CheckKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("object key is empty");
  return absl::OkStatus();
}

InMemoryObjectStore::InMemoryObjectStore(std::initializer_list<std::string> buckets) {
  for (const auto& b : buckets) buckets_[b];
}

void InMemoryObjectStore::CreateBucket(std::string_view bucket) {
  std::lock_guard lock(mu_);
  buckets_.try_emplace(std::string(bucket));
}

std::map<std::string, std::string> InMemoryObjectStore::Contents(std::string_view bucket) const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) return out;
  for (const auto& [key, data] : it->second) out.emplace(key, *data);
  return out;
}

StatusOr<InMemoryObjectStore::Bucket*> InMemoryObjectStore::FindBucket(std::string_view bucket) {
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) {
    return absl::FailedPreconditionError("bucket " + std::string(bucket) + " does not exist");
  }
  return &it->second;
}

Status InMemoryObjectStore::Put(std::string_view bucket, std::string_view key, ByteSource& body) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  {
    std::lock_guard lock(mu_);
    LIFEBOAT_RETURN_IF_ERROR(FindBucket(bucket).status());
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string data, ReadBody(body));
  auto stored = std::make_shared<const std::string>(std::move(data));
  std::lock_guard lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(Bucket * b, FindBucket(bucket));
  (*b)[std::string(key)] = std::move(stored);
  return absl::OkStatus();
}

Status InMemoryObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                                const GetOptions& options, int64_t* written) {
  if (written != nullptr) *written = 0;
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  if (options.offset < 0) return absl::InvalidArgumentError("negative range offset");
  std::shared_ptr<const std::string> data;
  {
    std::lock_guard lock(mu_);
    LIFEBOAT_ASSIGN_OR_RETURN(Bucket * b, FindBucket(bucket));
    auto it = b->find(key);
    if (it == b->end()) return absl::NotFoundError("object " + std::string(key) + " not found");
    data = it->second;
  }
  size_t begin = std::min(static_cast<size_t>(options.offset), data->size());
  size_t end = options.length < 0
                   ? data->size()
                   : std::min(data->size(), begin + static_cast<size_t>(options.length));
  for (size_t pos = begin; pos < end; pos += kChunk) {
    size_t n = std::min(kChunk, end - pos);
    LIFEBOAT_RETURN_IF_ERROR(sink.Write(std::string_view(*data).substr(pos, n)));
    if (written != nullptr) *written += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

StatusOr<bool> InMemoryObjectStore::Exists(std::string_view bucket, std::string_view key) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(Bucket * b, FindBucket(bucket));
  return b->find(key) != b->end();
}

StatusOr<std::vector<std::string>> InMemoryObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  if (delimiter.empty()) return absl::InvalidArgumentError("empty delimiter");
  std::lock_guard lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(Bucket * b, FindBucket(bucket));
  std::set<std::string> prefixes;
  for (auto it = b->lower_bound(prefix); it != b->end() && it->first.starts_with(prefix); ++it) {
    size_t pos = it->first.find(delimiter, prefix.size());
    if (pos != std::string::npos) prefixes.insert(it->first.substr(0, pos + delimiter.size()));
  }
  return std::vector<std::string>(prefixes.begin(), prefixes.end());
}

StatusOr<std::vector<std::string>> InMemoryObjectStore::ListObjects(std::string_view bucket,
                                                                    std::string_view prefix) {
  std::lock_guard lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(Bucket * b, FindBucket(bucket));
  std::vector<std::string> keys;
  for (auto it = b->lower_bound(prefix); it != b->end() && it->first.starts_with(prefix); ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

Status InMemoryObjectStore::Delete(std::string_view bucket, std::string_view key) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(Bucket * b, FindBucket(bucket));
  auto it = b->find(key);
  if (it != b->end()) b->erase(it);
  return absl::OkStatus();
}

StatusOr<std::string> InMemoryObjectStore::CreateSignedUrl(std::string_view bucket,
                                                           std::string_view key,
                                                           std::chrono::seconds ttl) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard lock(mu_);
  LIFEBOAT_RETURN_IF_ERROR(FindBucket(bucket).status());
  return "memory://" + std::string(bucket) + "/" + std::string(key) +
         "?ttl=" + std::to_string(ttl.count());
}

}  // namespace lifeboat::storage::testing
