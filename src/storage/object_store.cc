#include "lifeboat/storage/object_store.h"

#include <utility>

namespace lifeboat::storage {

Status PutString(ObjectStore& store, std::string_view bucket, std::string_view key,
                 std::string data) {
  auto source = StringSource(std::move(data));
  return store.Put(bucket, key, *source);
}

StatusOr<std::string> GetString(ObjectStore& store, std::string_view bucket,
                                std::string_view key, size_t max_bytes) {
  // A sink that refuses to grow past max_bytes, so a huge object cannot exhaust memory.
  class BoundedSink : public ByteSink {
   public:
    BoundedSink(std::string* out, size_t max) : out_(out), max_(max) {}
    Status Write(std::string_view data) override {
      if (out_->size() + data.size() > max_) {
        return absl::FailedPreconditionError("object is larger than " + std::to_string(max_) +
                                             " bytes");
      }
      out_->append(data);
      return absl::OkStatus();
    }
    Status Close() override { return absl::OkStatus(); }

   private:
    std::string* out_;
    size_t max_;
  };
  std::string out;
  BoundedSink sink(&out, max_bytes);
  LIFEBOAT_RETURN_IF_ERROR(store.Get(bucket, key, sink));
  return out;
}

}  // namespace lifeboat::storage
