#include "kubesim/src/exec/spdy.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "lifeboat/common/log.h"

namespace kubesim::spdy {
namespace {

void PutU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void PutFlagsLength(std::string& out, uint8_t flags, size_t length) {
  PutU32(out, (static_cast<uint32_t>(flags) << 24) | (static_cast<uint32_t>(length) & 0xffffff));
}

// The SPDY/3 header dictionary (draft-mbelshe-httpbis-spdy-00 section 2.6.10.1): length-prefixed
// words, then a raw tail. Built once; see HeaderDictionary().
std::string BuildDictionary() {
  static const char* const kWords[] = {
      "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
      "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
      "cache-control", "connection", "content-base", "content-encoding", "content-language",
      "content-length", "content-location", "content-md5", "content-range", "content-type",
      "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
      "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
      "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
      "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
      "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
      "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"};
  std::string d;
  for (const char* w : kWords) {
    PutU32(d, static_cast<uint32_t>(std::strlen(w)));
    d += w;
  }
  d += "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
       "203 Non-Authoritative Information"
       "204 No Content"
       "301 Moved Permanently"
       "400 Bad Request"
       "401 Unauthorized"
       "403 Forbidden"
       "404 Not Found"
       "500 Internal Server Error"
       "501 Not Implemented"
       "503 Service Unavailable"
       "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
       "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"
       "text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,"
       "utf-,*,enq=0.";
  return d;
}

constexpr size_t kMaxHeaderBlock = 1 << 20;  // decompressed
constexpr size_t kMaxDataFrame = 32 * 1024;
constexpr uint64_t kWindowUpdateThreshold = kInitialWindow / 2;

}  // namespace

std::string_view HeaderDictionary() {
  static const std::string* const dict = new std::string(BuildDictionary());
  return *dict;
}

uint32_t ReadU32(std::string_view d, size_t o) {
  if (o + 4 > d.size()) return 0;
  return (static_cast<uint32_t>(static_cast<unsigned char>(d[o])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(d[o + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(d[o + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(d[o + 3]));
}

std::string EncodeControl(uint16_t type, uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(8 + payload.size());
  PutU32(out, 0x80000000u | (static_cast<uint32_t>(kVersion) << 16) | type);
  PutFlagsLength(out, flags, payload.size());
  out.append(payload);
  return out;
}

std::string EncodeData(uint32_t stream_id, uint8_t flags, std::string_view data) {
  std::string out;
  out.reserve(8 + data.size());
  PutU32(out, stream_id & 0x7fffffff);
  PutFlagsLength(out, flags, data.size());
  out.append(data);
  return out;
}

std::string EncodeFrame(const Frame& f) {
  if (!f.control) return EncodeData(f.stream_id, f.flags, f.payload);
  std::string out;
  PutU32(out, 0x80000000u | (static_cast<uint32_t>(f.version & 0x7fff) << 16) | f.type);
  PutFlagsLength(out, f.flags, f.payload.size());
  out.append(f.payload);
  return out;
}

absl::StatusOr<std::optional<Frame>> FrameReader::Next() {
  std::string_view b = std::string_view(buffer_).substr(pos_);
  if (b.size() < 8) {
    if (pos_ > 0 && pos_ == buffer_.size()) {
      buffer_.clear();
      pos_ = 0;
    }
    return std::optional<Frame>();
  }
  uint32_t w0 = ReadU32(b, 0), w1 = ReadU32(b, 4);
  uint32_t length = w1 & 0xffffff;
  if (length > max_length_) {
    return absl::InvalidArgumentError("spdy frame of " + std::to_string(length) + " bytes is too long");
  }
  if (b.size() < 8 + static_cast<size_t>(length)) return std::optional<Frame>();
  Frame f;
  f.control = (w0 & 0x80000000u) != 0;
  if (f.control) {
    f.version = static_cast<uint16_t>((w0 >> 16) & 0x7fff);
    f.type = static_cast<uint16_t>(w0 & 0xffff);
  } else {
    f.stream_id = w0 & 0x7fffffff;
  }
  f.flags = static_cast<uint8_t>(w1 >> 24);
  f.payload.assign(b.substr(8, length));
  pos_ += 8 + length;
  // Compact now and then so the buffer does not grow without bound.
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  } else if (pos_ > (1 << 16) && pos_ > buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<Frame>(std::move(f));
}

std::string HeaderValue(const HeaderBlock& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v.substr(0, v.find('\0'));
  }
  return "";
}

std::string SerializeHeaderBlock(const HeaderBlock& headers) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(headers.size()));
  for (const auto& [k, v] : headers) {
    std::string name = k;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    PutU32(out, static_cast<uint32_t>(name.size()));
    out += name;
    PutU32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  return out;
}

absl::StatusOr<HeaderBlock> ParseHeaderBlock(std::string_view d) {
  if (d.size() < 4) return absl::InvalidArgumentError("spdy header block: truncated count");
  uint32_t n = ReadU32(d, 0);
  size_t o = 4;
  HeaderBlock out;
  for (uint32_t i = 0; i < n; ++i) {
    std::string parts[2];
    for (std::string& part : parts) {
      if (o + 4 > d.size()) return absl::InvalidArgumentError("spdy header block: truncated length");
      uint32_t len = ReadU32(d, o);
      o += 4;
      if (len > d.size() - o) return absl::InvalidArgumentError("spdy header block: truncated string");
      part.assign(d.substr(o, len));
      o += len;
    }
    out.emplace_back(std::move(parts[0]), std::move(parts[1]));
  }
  if (o != d.size()) return absl::InvalidArgumentError("spdy header block: trailing bytes");
  return out;
}

struct HeaderCompressor::Impl {
  z_stream z{};
  bool ok = false;
};

HeaderCompressor::HeaderCompressor() : impl_(std::make_unique<Impl>()) {
  if (deflateInit(&impl_->z, Z_BEST_COMPRESSION) == Z_OK) {
    std::string_view dict = HeaderDictionary();
    impl_->ok = deflateSetDictionary(&impl_->z, reinterpret_cast<const Bytef*>(dict.data()),
                                     static_cast<uInt>(dict.size())) == Z_OK;
  }
}

HeaderCompressor::~HeaderCompressor() { deflateEnd(&impl_->z); }

absl::StatusOr<std::string> HeaderCompressor::Compress(const HeaderBlock& headers) {
  if (!impl_->ok) return absl::InternalError("spdy header compressor: zlib init failed");
  std::string in = SerializeHeaderBlock(headers);
  z_stream& z = impl_->z;
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  std::array<char, 4096> buf;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    int rc = deflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      impl_->ok = false;
      return absl::InternalError("spdy header compressor: deflate failed");
    }
    out.append(buf.data(), buf.size() - z.avail_out);
  } while (z.avail_out == 0);
  return out;
}

struct HeaderDecompressor::Impl {
  z_stream z{};
  bool ok = false;
};

HeaderDecompressor::HeaderDecompressor() : impl_(std::make_unique<Impl>()) {
  impl_->ok = inflateInit(&impl_->z) == Z_OK;
}

HeaderDecompressor::~HeaderDecompressor() { inflateEnd(&impl_->z); }

absl::StatusOr<HeaderBlock> HeaderDecompressor::Decompress(std::string_view data) {
  if (!impl_->ok) return absl::InvalidArgumentError("spdy header decompressor: unusable after an error");
  z_stream& z = impl_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      std::string_view dict = HeaderDictionary();
      rc = inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size()));
      if (rc != Z_OK) {
        impl_->ok = false;
        return absl::InvalidArgumentError("spdy header block: wrong zlib dictionary");
      }
      continue;
    }
    out.append(buf.data(), buf.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // all input consumed, no progress possible
    if (rc != Z_OK) {
      impl_->ok = false;
      return absl::InvalidArgumentError(std::string("spdy header block: inflate failed: ") +
                                        (z.msg ? z.msg : std::to_string(rc)));
    }
    if (out.size() > kMaxHeaderBlock) {
      impl_->ok = false;
      return absl::InvalidArgumentError("spdy header block too large");
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  return ParseHeaderBlock(out);
}

absl::StatusOr<SynStream> ParseSynStream(std::string_view p) {
  if (p.size() < 10) return absl::InvalidArgumentError("spdy SYN_STREAM: too short");
  SynStream s;
  s.stream_id = ReadU32(p, 0) & 0x7fffffff;
  s.associated_id = ReadU32(p, 4) & 0x7fffffff;
  s.priority = static_cast<uint8_t>(static_cast<unsigned char>(p[8]) >> 5);
  s.header_block.assign(p.substr(10));
  return s;
}

std::string SynStreamPayload(uint32_t stream_id, std::string_view compressed_headers) {
  std::string out;
  PutU32(out, stream_id & 0x7fffffff);
  PutU32(out, 0);
  out.push_back(0);  // priority
  out.push_back(0);  // slot
  out.append(compressed_headers);
  return out;
}

std::string SynReplyPayload(uint32_t stream_id, std::string_view compressed_headers) {
  std::string out;
  PutU32(out, stream_id & 0x7fffffff);
  out.append(compressed_headers);
  return out;
}

std::string RstStreamPayload(uint32_t stream_id, uint32_t status) {
  std::string out;
  PutU32(out, stream_id & 0x7fffffff);
  PutU32(out, status);
  return out;
}

std::string WindowUpdatePayload(uint32_t stream_id, uint32_t delta) {
  std::string out;
  PutU32(out, stream_id & 0x7fffffff);
  PutU32(out, delta & 0x7fffffff);
  return out;
}

std::string GoAwayPayload(uint32_t last_good_stream_id, uint32_t status) {
  std::string out;
  PutU32(out, last_good_stream_id & 0x7fffffff);
  PutU32(out, status);
  return out;
}

std::string PingPayload(uint32_t id) {
  std::string out;
  PutU32(out, id);
  return out;
}

// --- Session ---------------------------------------------------------------------------------

Session::Session(lifeboat::http::UpgradedConnection* conn, Options options)
    : conn_(conn), options_(std::move(options)) {}

Session::~Session() { Shutdown(); }

void Session::Start() {
  started_ = true;
  reader_ = std::thread([this] { ReadLoop(); });
}

absl::Status Session::WriteFrame(const std::string& bytes) {
  std::lock_guard lock(write_mu_);
  return conn_->Write(bytes);
}

absl::Status Session::SendWindowUpdate(uint32_t stream_id, uint32_t delta) {
  return WriteFrame(EncodeControl(kWindowUpdate, 0, WindowUpdatePayload(stream_id, delta)));
}

void Session::ReadLoop() {
  FrameReader reader;
  std::vector<char> buf(64 * 1024);
  std::string why;
  for (;;) {
    auto n = conn_->Read(std::span<char>(buf.data(), buf.size()));
    if (!n.ok()) {
      if (n.status().code() != absl::StatusCode::kNotFound) why = std::string(n.status().message());
      break;
    }
    reader.Append(std::string_view(buf.data(), *n));
    bool fatal = false;
    for (;;) {
      auto frame = reader.Next();
      if (!frame.ok()) {
        why = std::string(frame.status().message());
        fatal = true;
        break;
      }
      if (!*frame) break;
      if (absl::Status s = HandleFrame(**frame); !s.ok()) {
        why = std::string(s.message());
        fatal = true;
        break;
      }
    }
    if (fatal) {
      (void)GoAway(kProtocolError);
      conn_->Shutdown();
      break;
    }
  }
  if (!why.empty()) LB_LOG_DEBUG("spdy: session ended: {}", why);
  std::lock_guard lock(mu_);
  closed_ = true;
  for (auto& [id, st] : streams_) st.remote_closed = true;
  cv_.notify_all();
}

absl::Status Session::HandleFrame(Frame& f) {
  if (!f.control) {
    std::unique_lock lock(mu_);
    auto it = streams_.find(f.stream_id);
    if (it == streams_.end() || it->second.reset) {
      lock.unlock();
      // Data for a stream we do not know (or reset): answer with RST_STREAM, unless it is
      // only the end of a stream we already gave up.
      if (it == streams_.end()) return Reset(f.stream_id, kInvalidStream);
      return absl::OkStatus();
    }
    Stream& st = it->second;
    if (!f.payload.empty()) {
      // Back pressure against peers that ignore our windows: stop reading while too much is
      // buffered (compliant peers never send more than 64 KiB per stream before we grant it).
      cv_.wait(lock, [&] { return buffered_ < options_.max_buffered || shutting_down_ || st.reset; });
      if (shutting_down_) return absl::OkStatus();
      buffered_ += f.payload.size();
      st.inbound.push_back(std::move(f.payload));
    }
    if (f.flags & kFlagFin) st.remote_closed = true;
    cv_.notify_all();
    return absl::OkStatus();
  }
  if (f.version != kVersion) {
    return absl::InvalidArgumentError("spdy: unsupported version " + std::to_string(f.version));
  }
  switch (f.type) {
    case kSynStream: {
      LIFEBOAT_ASSIGN_OR_RETURN(SynStream syn, ParseSynStream(f.payload));
      // Always decompress: the zlib stream spans the connection.
      LIFEBOAT_ASSIGN_OR_RETURN(HeaderBlock headers, decompressor_.Decompress(syn.header_block));
      bool valid;
      {
        std::lock_guard lock(mu_);
        valid = syn.stream_id % 2 == 1 && syn.stream_id > last_stream_id_ && !goaway_received_;
        if (valid) {
          last_stream_id_ = syn.stream_id;
          Stream& st = streams_[syn.stream_id];
          st.headers = headers;
          st.send_window = initial_send_window_;
          if (f.flags & kFlagFin) st.remote_closed = true;
          if (f.flags & kFlagUnidirectional) st.local_closed = true;
        }
      }
      if (!valid) return WriteFrame(EncodeControl(kRstStream, 0, RstStreamPayload(syn.stream_id, kProtocolError)));
      if (!(f.flags & kFlagUnidirectional)) {
        std::lock_guard wlock(write_mu_);
        LIFEBOAT_ASSIGN_OR_RETURN(std::string block, compressor_.Compress({}));
        LIFEBOAT_RETURN_IF_ERROR(conn_->Write(EncodeControl(kSynReply, 0, SynReplyPayload(syn.stream_id, block))));
      }
      if (options_.on_stream) options_.on_stream(syn.stream_id, headers);
      std::lock_guard lock(mu_);
      cv_.notify_all();
      return absl::OkStatus();
    }
    case kSynReply:
    case kHeaders: {
      // We open no streams, and HEADERS carry nothing we use; keep the zlib stream in sync.
      if (f.payload.size() < 4) return absl::InvalidArgumentError("spdy: short HEADERS/SYN_REPLY");
      LIFEBOAT_ASSIGN_OR_RETURN(HeaderBlock ignored, decompressor_.Decompress(std::string_view(f.payload).substr(4)));
      (void)ignored;
      return absl::OkStatus();
    }
    case kRstStream: {
      uint32_t id = ReadU32(f.payload, 0) & 0x7fffffff;
      std::lock_guard lock(mu_);
      auto it = streams_.find(id);
      if (it != streams_.end()) {
        it->second.reset = true;
        it->second.remote_closed = true;
        buffered_ -= std::min(buffered_, [&] {
          size_t n = 0;
          for (const auto& d : it->second.inbound) n += d.size();
          return n;
        }());
        it->second.inbound.clear();
      }
      cv_.notify_all();
      return absl::OkStatus();
    }
    case kSettings: {
      uint32_t n = ReadU32(f.payload, 0);
      std::lock_guard lock(mu_);
      for (uint32_t i = 0; i < n && 4 + 8 * (i + 1) <= f.payload.size(); ++i) {
        uint32_t id = ReadU32(f.payload, 4 + 8 * i) & 0xffffff;
        uint32_t value = ReadU32(f.payload, 8 + 8 * i);
        if (id == kSettingsInitialWindowSize && value <= 0x7fffffff) {
          int64_t delta = static_cast<int64_t>(value) - initial_send_window_;
          initial_send_window_ = value;
          for (auto& [sid, st] : streams_) st.send_window += delta;
          flow_control_ = true;
        }
      }
      cv_.notify_all();
      return absl::OkStatus();
    }
    case kPing: {
      uint32_t id = ReadU32(f.payload, 0);
      // Odd ids are the client's: echo them. Even ones would answer our pings (we send none).
      if (id % 2 == 1) return WriteFrame(EncodeControl(kPing, 0, PingPayload(id)));
      return absl::OkStatus();
    }
    case kGoAway: {
      std::lock_guard lock(mu_);
      goaway_received_ = true;
      cv_.notify_all();
      return absl::OkStatus();
    }
    case kWindowUpdate: {
      uint32_t id = ReadU32(f.payload, 0) & 0x7fffffff;
      uint32_t delta = ReadU32(f.payload, 4) & 0x7fffffff;
      std::lock_guard lock(mu_);
      flow_control_ = true;
      if (id == 0) {
        conn_send_window_ += delta;
      } else if (auto it = streams_.find(id); it != streams_.end()) {
        it->second.send_window += delta;
      }
      cv_.notify_all();
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();  // unknown control frames are ignored
  }
}

std::optional<std::string> Session::Receive(uint32_t stream_id) {
  std::unique_lock lock(mu_);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return std::nullopt;
  Stream& st = it->second;
  cv_.wait(lock, [&] { return !st.inbound.empty() || st.remote_closed || st.reset || closed_ || shutting_down_; });
  if (st.inbound.empty()) return std::nullopt;
  std::string data = std::move(st.inbound.front());
  st.inbound.pop_front();
  buffered_ -= std::min(buffered_, data.size());
  cv_.notify_all();
  // Grant the window back as the application consumes, in batches.
  st.unacked += data.size();
  conn_unacked_ += data.size();
  uint32_t stream_delta = 0, conn_delta = 0;
  if (st.unacked >= kWindowUpdateThreshold && !st.remote_closed) {
    stream_delta = static_cast<uint32_t>(st.unacked);
    st.unacked = 0;
  }
  if (conn_unacked_ >= kWindowUpdateThreshold) {
    conn_delta = static_cast<uint32_t>(conn_unacked_);
    conn_unacked_ = 0;
  }
  bool dead = closed_ || shutting_down_;
  lock.unlock();
  if (!dead) {
    if (stream_delta) (void)SendWindowUpdate(stream_id, stream_delta);
    if (conn_delta) (void)SendWindowUpdate(0, conn_delta);
  }
  return data;
}

absl::Status Session::SendData(uint32_t stream_id, std::string_view data, bool fin) {
  do {
    size_t n;
    {
      std::unique_lock lock(mu_);
      auto it = streams_.find(stream_id);
      if (it == streams_.end()) return absl::NotFoundError("spdy: no stream " + std::to_string(stream_id));
      Stream& st = it->second;
      auto blocked = [&] {
        return flow_control_ && !data.empty() && (st.send_window <= 0 || conn_send_window_ <= 0);
      };
      cv_.wait(lock, [&] { return !blocked() || st.reset || closed_ || shutting_down_; });
      if (st.reset) return absl::CancelledError("spdy: stream " + std::to_string(stream_id) + " was reset");
      if (closed_ || shutting_down_) return absl::UnavailableError("spdy: connection closed");
      if (st.local_closed) return absl::FailedPreconditionError("spdy: stream " + std::to_string(stream_id) + " is closed");
      n = std::min(data.size(), kMaxDataFrame);
      if (flow_control_) {
        n = std::min<int64_t>(static_cast<int64_t>(n), std::min(st.send_window, conn_send_window_));
      }
      st.send_window -= static_cast<int64_t>(n);
      conn_send_window_ -= static_cast<int64_t>(n);
      if (fin && n == data.size()) st.local_closed = true;
    }
    bool last = n == data.size();
    LIFEBOAT_RETURN_IF_ERROR(WriteFrame(EncodeData(stream_id, fin && last ? kFlagFin : 0, data.substr(0, n))));
    data.remove_prefix(n);
  } while (!data.empty());
  return absl::OkStatus();
}

absl::Status Session::Reset(uint32_t stream_id, uint32_t status) {
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream_id);
    if (it != streams_.end()) {
      it->second.reset = true;
      it->second.local_closed = true;
      cv_.notify_all();
    }
  }
  return WriteFrame(EncodeControl(kRstStream, 0, RstStreamPayload(stream_id, status)));
}

absl::Status Session::GoAway(uint32_t status) {
  uint32_t last;
  {
    std::lock_guard lock(mu_);
    last = last_stream_id_;
  }
  return WriteFrame(EncodeControl(kGoAway, 0, GoAwayPayload(last, status)));
}

bool Session::WaitClosed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return closed_; });
}

bool Session::PeerGoingAway() const {
  std::lock_guard lock(mu_);
  return goaway_received_ || closed_;
}

void Session::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    cv_.notify_all();
  }
  if (started_) {
    conn_->Shutdown();
    if (reader_.joinable()) reader_.join();
  }
}

}  // namespace kubesim::spdy
