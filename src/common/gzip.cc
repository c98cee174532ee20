#include "lifeboat/common/gzip.h"

#include <zlib.h>

#include <array>

namespace lifeboat {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // zlib: gzip header and trailer
constexpr int kAutoWindowBits = 15 + 32;  // inflate: gzip or zlib, detected

class GzipSinkImpl : public ByteSink {
 public:
  GzipSinkImpl(ByteSink* out, int level) : out_(out) {
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipSinkImpl() override { deflateEnd(&z_); }

  Status Write(std::string_view data) override { return Deflate(data, Z_NO_FLUSH); }
  Status Close() override {
    LIFEBOAT_RETURN_IF_ERROR(Deflate({}, Z_FINISH));
    return out_->Close();
  }

 private:
  Status Deflate(std::string_view data, int flush) {
    if (!ok_) return absl::InternalError("gzip: zlib initialisation failed");
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    std::array<char, 64 * 1024> buf;
    int rc;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf.data());
      z_.avail_out = static_cast<uInt>(buf.size());
      rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return absl::InternalError("gzip: deflate failed");
      size_t n = buf.size() - z_.avail_out;
      if (n > 0) LIFEBOAT_RETURN_IF_ERROR(out_->Write(std::string_view(buf.data(), n)));
    } while (z_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    return absl::OkStatus();
  }

  ByteSink* out_;
  z_stream z_{};
  bool ok_ = false;
};

}  // namespace

std::unique_ptr<ByteSink> GzipSink(ByteSink* out, int level) {
  return std::make_unique<GzipSinkImpl>(out, level);
}

std::string Gzip(std::string_view data, int level) {
  std::string out;
  auto raw = StringSink(&out);
  GzipSinkImpl gz(raw.get(), level);
  // Writing to a string cannot fail.
  (void)gz.Write(data);
  (void)gz.Close();
  return out;
}

StatusOr<std::string> Gunzip(std::string_view data, size_t max_bytes) {
  std::string out;
  std::array<char, 64 * 1024> buf;
  while (!data.empty()) {  // one member per round (multi-member streams)
    z_stream z{};
    if (inflateInit2(&z, kAutoWindowBits) != Z_OK) return absl::InternalError("gunzip: zlib init");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    int rc;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf.data());
      z.avail_out = static_cast<uInt>(buf.size());
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&z);
        return absl::DataLossError(rc == Z_BUF_ERROR ? "gunzip: truncated gzip data"
                                                     : "gunzip: corrupt gzip data");
      }
      size_t n = buf.size() - z.avail_out;
      if (out.size() + n > max_bytes) {
        inflateEnd(&z);
        return absl::FailedPreconditionError("gunzip: expands beyond " +
                                             std::to_string(max_bytes) + " bytes");
      }
      out.append(buf.data(), n);
    } while (rc != Z_STREAM_END);
    data.remove_prefix(data.size() - z.avail_in);
    inflateEnd(&z);
  }
  return out;
}

}  // namespace lifeboat
