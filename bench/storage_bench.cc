// One object-store transfer through Lifeboat's storage stack, timed: the driver is created by
// provider name through the registry (NewObjectStore, so the real config and credentials path
// is exercised) and wrapped in RetryingObjectStore as a backup storage location is. Driven by
// bench/storage_bench.sh, which compares the figures with `aws s3 cp` against the same s3rver.
//
//   storage_bench --provider aws --config s3Url=http://127.0.0.1:PORT,s3ForcePathStyle=true
//                 --bucket b --key k --put FILE          (or --get FILE, or --delete)
//
// Prints one JSON line: {"provider", "op", "bytes", "seconds", "mib_per_s"}. Credentials come
// from the environment or a `credentialsFile` config entry, exactly as for the server; they are
// never printed. Exit code 0 on success, 1 on a failed transfer (message on stderr), 2 on bad
// flags.

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"
#include "lifeboat/storage/decorators.h"
#include "lifeboat/storage/object_store.h"
#include "lifeboat/storage/registry.h"

namespace {

using lifeboat::ByteSink;
using lifeboat::Status;
using lifeboat::StatusOr;
namespace storage = lifeboat::storage;

// A plain file sink (open, write, close; no fsync), which is what `aws s3 cp` does with a
// download, so the two are compared on equal terms. --fsync uses AtomicFileSink instead.
class PlainFileSink : public ByteSink {
 public:
  explicit PlainFileSink(int fd) : fd_(fd) {}
  ~PlainFileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Write(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(std::string("write: ") + std::strerror(errno));
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return absl::InternalError(std::string("close: ") + std::strerror(errno));
    return absl::OkStatus();
  }

 private:
  int fd_;
};

StatusOr<std::unique_ptr<ByteSink>> OpenSink(const std::string& path, bool fsync) {
  if (fsync) return lifeboat::AtomicFileSink(path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::NotFoundError("cannot create " + path + ": " + std::strerror(errno));
  return std::unique_ptr<ByteSink>(new PlainFileSink(fd));
}

// "k1=v1,k2=v2" (and repeated --config flags) into a config map; InvalidArgument on an entry
// without '='.
StatusOr<storage::Config> ParseConfig(const std::vector<std::string>& entries) {
  storage::Config config;
  for (const std::string& list : entries) {
    size_t start = 0;
    while (start < list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      std::string entry = list.substr(start, comma - start);
      start = comma + 1;
      if (entry.empty()) continue;
      size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError("--config entry \"" + entry + "\" is not key=value");
      }
      config[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return config;
}

struct Request {
  std::string provider, bucket, key, put_file, get_file;
  std::vector<std::string> config;
  bool remove = false;
  bool fsync = false;
  bool retry = true;
};

// Runs the one operation; returns the bytes moved.
StatusOr<int64_t> Run(const Request& req, storage::ObjectStore& store) {
  if (!req.put_file.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto source, lifeboat::FileSource(req.put_file));
    LIFEBOAT_RETURN_IF_ERROR(store.Put(req.bucket, req.key, *source));
    return source->Size();
  }
  if (!req.get_file.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto sink, OpenSink(req.get_file, req.fsync));
    int64_t written = 0;
    Status status = store.Get(req.bucket, req.key, *sink, {}, &written);
    if (status.ok()) status = sink->Close();
    if (!status.ok() && !req.fsync) ::unlink(req.get_file.c_str());  // no partial download left
    LIFEBOAT_RETURN_IF_ERROR(status);
    return written;
  }
  LIFEBOAT_RETURN_IF_ERROR(store.Delete(req.bucket, req.key));
  return 0;
}

int Main(const Request& req) {
  auto config = ParseConfig(req.config);
  if (!config.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  storage::DriverParams params;
  params.config = *std::move(config);
  auto driver = storage::NewObjectStore(req.provider, params);
  if (!driver.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", driver.status().ToString().c_str());
    return 2;
  }
  std::unique_ptr<storage::ObjectStore> store = *std::move(driver);
  if (req.retry) store = std::make_unique<storage::RetryingObjectStore>(std::move(store));

  auto start = std::chrono::steady_clock::now();
  StatusOr<int64_t> bytes = Run(req, *store);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!bytes.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", bytes.status().ToString().c_str());
    return 1;
  }
  const char* op = !req.put_file.empty() ? "put" : !req.get_file.empty() ? "get" : "delete";
  boost::json::object out;
  out["provider"] = req.provider;
  out["op"] = op;
  out["bytes"] = *bytes;
  out["seconds"] = seconds;
  out["mib_per_s"] = seconds > 0 ? static_cast<double>(*bytes) / (1 << 20) / seconds : 0.0;
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"time one object-store transfer through Lifeboat's storage drivers"};
  Request req;
  app.add_option("--provider", req.provider, "aws | azure | gcp | local")->required();
  app.add_option("--config", req.config, "driver config: key=value[,key=value...] (repeatable)");
  app.add_option("--bucket", req.bucket, "bucket / container")->required();
  app.add_option("--key", req.key, "object key")->required();
  auto* put = app.add_option("--put", req.put_file, "upload this file (FileSource)");
  auto* get = app.add_option("--get", req.get_file, "download into this file");
  auto* del = app.add_flag("--delete", req.remove, "delete the object");
  put->excludes(get)->excludes(del);
  get->excludes(del);
  app.add_flag("--fsync", req.fsync, "--get: AtomicFileSink (temp file, fsync, rename)");
  app.add_flag("!--no-retry", req.retry, "use the bare driver, without RetryingObjectStore");
  CLI11_PARSE(app, argc, argv);
  if (req.put_file.empty() && req.get_file.empty() && !req.remove) {
    std::fprintf(stderr, "storage_bench: one of --put FILE, --get FILE or --delete is required\n");
    return 2;
  }
  return Main(req);
}
