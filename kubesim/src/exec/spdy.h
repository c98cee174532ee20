#pragma once

// The server side of SPDY/3.1 as Kubernetes' remotecommand uses it (kubectl exec before 1.30:
// k8s.io/apimachinery/pkg/util/httpstream/spdy on github.com/moby/spdystream).
//
// Only what remotecommand needs: the client opens streams (SYN_STREAM), the server replies to
// each (SYN_REPLY), both sides send DATA (FLAG_FIN half-closes a stream), RST_STREAM, PING
// (echoed), GOAWAY, SETTINGS and WINDOW_UPDATE. Header blocks are zlib-compressed with the
// SPDY/3 dictionary, one zlib stream per direction for the whole connection.
//
// Flow control (SPDY/3.1): we grant the peer 64 KiB per stream and per connection and send
// WINDOW_UPDATEs as the application consumes data. spdystream implements no flow control (it
// never sends WINDOW_UPDATE and ignores ours), so the peer's windows are only enforced once the
// peer has shown it does flow control (sent a WINDOW_UPDATE or an initial window SETTING);
// otherwise a 64 KiB answer would stall forever. Against a peer that ignores our windows, the
// amount of unconsumed data we buffer is capped and TCP provides the back pressure.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "lifeboat/common/status.h"
#include "lifeboat/http/server.h"

namespace kubesim::spdy {

inline constexpr uint16_t kVersion = 3;

enum ControlType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr uint8_t kFlagFin = 0x01;
inline constexpr uint8_t kFlagUnidirectional = 0x02;  // SYN_STREAM

// RST_STREAM status codes.
inline constexpr uint32_t kProtocolError = 1;
inline constexpr uint32_t kInvalidStream = 2;
inline constexpr uint32_t kRefusedStream = 3;
inline constexpr uint32_t kCancel = 5;
inline constexpr uint32_t kFlowControlError = 7;

// SETTINGS ids.
inline constexpr uint32_t kSettingsInitialWindowSize = 7;

inline constexpr uint32_t kInitialWindow = 64 * 1024;
inline constexpr uint32_t kMaxFrameLength = 0xffffff;

// One frame: the 8-byte header decoded, the rest as is.
struct Frame {
  bool control = false;
  uint16_t version = kVersion;  // control frames
  uint16_t type = 0;            // control frames
  uint32_t stream_id = 0;       // data frames
  uint8_t flags = 0;
  std::string payload;
};

std::string EncodeFrame(const Frame& frame);
std::string EncodeControl(uint16_t type, uint8_t flags, std::string_view payload);
std::string EncodeData(uint32_t stream_id, uint8_t flags, std::string_view data);

// Splits a byte stream into frames.
class FrameReader {
 public:
  explicit FrameReader(uint32_t max_length = kMaxFrameLength) : max_length_(max_length) {}
  void Append(std::string_view data) { buffer_.append(data); }
  // The next complete frame, nullopt when more bytes are needed; InvalidArgument for a frame
  // longer than the limit.
  absl::StatusOr<std::optional<Frame>> Next();
  size_t buffered() const { return buffer_.size() - pos_; }

 private:
  uint32_t max_length_;
  std::string buffer_;
  size_t pos_ = 0;
};

// Header name/value pairs; several values of one name are NUL-separated in the value.
using HeaderBlock = std::vector<std::pair<std::string, std::string>>;

// The value of `name` (first one), or "".
std::string HeaderValue(const HeaderBlock& headers, std::string_view name);

// The SPDY/3 zlib dictionary for header blocks.
std::string_view HeaderDictionary();

// Compresses header blocks: one zlib stream (with the dictionary) for all the blocks a side
// sends on a connection, each block ending with a sync flush. Not thread-safe.
class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;
  absl::StatusOr<std::string> Compress(const HeaderBlock& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The receiving side of HeaderCompressor. Not thread-safe.
class HeaderDecompressor {
 public:
  HeaderDecompressor();
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;
  absl::StatusOr<HeaderBlock> Decompress(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The (uncompressed) wire form of a header block, and its parser.
std::string SerializeHeaderBlock(const HeaderBlock& headers);
absl::StatusOr<HeaderBlock> ParseHeaderBlock(std::string_view data);

// Payload builders/parsers of the control frames this server uses.
struct SynStream {
  uint32_t stream_id = 0;
  uint32_t associated_id = 0;
  uint8_t priority = 0;
  std::string header_block;  // compressed
};
absl::StatusOr<SynStream> ParseSynStream(std::string_view payload);
std::string SynStreamPayload(uint32_t stream_id, std::string_view compressed_headers);
std::string SynReplyPayload(uint32_t stream_id, std::string_view compressed_headers);
std::string RstStreamPayload(uint32_t stream_id, uint32_t status);
std::string WindowUpdatePayload(uint32_t stream_id, uint32_t delta);
std::string GoAwayPayload(uint32_t last_good_stream_id, uint32_t status);
std::string PingPayload(uint32_t id);
uint32_t ReadU32(std::string_view data, size_t offset);  // big-endian; 0 past the end

// A server-side SPDY session over an upgraded connection. A reader thread (Start) reads
// frames, replies to new streams and buffers their data; the application takes the data with
// Receive and sends with SendData, from any threads.
class Session {
 public:
  struct Options {
    // Called on the reader thread for every new stream, after its SYN_REPLY was sent.
    std::function<void(uint32_t stream_id, const HeaderBlock& headers)> on_stream;
    // Data received and not yet taken with Receive, for all streams together; above it the
    // reader stops reading (TCP back pressure against peers that ignore our windows).
    size_t max_buffered = 1 << 20;
  };

  Session(lifeboat::http::UpgradedConnection* conn, Options options);
  ~Session();  // Shutdown()
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start();

  // The next chunk of data of the stream; nullopt once the peer half-closed it (FIN), reset
  // it, or the connection ended, and everything before was taken. Grants the peer window.
  std::optional<std::string> Receive(uint32_t stream_id);

  // Sends `data` on the stream (in frames of at most 32 KiB, within the peer's windows when it
  // does flow control), with FLAG_FIN on the last frame if `fin` (an empty frame if `data` is
  // empty). Fails when the stream was reset, is already closed on our side, or the connection
  // ended.
  absl::Status SendData(uint32_t stream_id, std::string_view data, bool fin);
  absl::Status Reset(uint32_t stream_id, uint32_t status);
  absl::Status GoAway(uint32_t status = 0);

  // Waits until the reader thread ended (peer closed the connection or an error), at most
  // `timeout`. True if it ended.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // True once the peer sent GOAWAY or the connection ended.
  bool PeerGoingAway() const;
  // Shuts the connection down and joins the reader thread. Idempotent.
  void Shutdown();

 private:
  struct Stream {
    HeaderBlock headers;
    std::deque<std::string> inbound;
    bool remote_closed = false;  // FIN or RST received
    bool reset = false;
    bool local_closed = false;  // we sent FIN
    int64_t send_window = kInitialWindow;
    uint64_t unacked = 0;  // consumed bytes not yet granted back
  };

  void ReadLoop();
  absl::Status HandleFrame(Frame& frame);
  absl::Status WriteFrame(const std::string& bytes);
  absl::Status SendWindowUpdate(uint32_t stream_id, uint32_t delta);

  lifeboat::http::UpgradedConnection* conn_;
  Options options_;
  std::thread reader_;
  bool started_ = false;

  std::mutex write_mu_;  // frame writes and the compressor
  HeaderCompressor compressor_;
  HeaderDecompressor decompressor_;  // reader thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint32_t, Stream> streams_;
  uint32_t last_stream_id_ = 0;
  size_t buffered_ = 0;
  uint64_t conn_unacked_ = 0;
  int64_t conn_send_window_ = kInitialWindow;
  int64_t initial_send_window_ = kInitialWindow;
  bool flow_control_ = false;  // the peer does flow control: respect its windows
  bool goaway_received_ = false;
  bool closed_ = false;      // reader ended
  bool shutting_down_ = false;
};

}  // namespace kubesim::spdy
