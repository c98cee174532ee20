#include "kubesim/src/exec/spdy.h"

#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace kubesim::spdy {
namespace {

TEST(SpdyDictionaryTest, IsTheSpdy3Dictionary) {
  std::string_view d = HeaderDictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(d.substr(0, 11), std::string_view("\0\0\0\7options", 11));
  EXPECT_TRUE(d.ends_with(",utf-,*,enq=0."));
  EXPECT_NE(d.find(std::string_view("\0\0\0\6" "200 OK\0\0\0\7version", 21)), std::string_view::npos);
}

TEST(SpdyFrameTest, EncodesAndDecodesDataAndControlFrames) {
  std::string data = EncodeData(5, kFlagFin, "hello");
  ASSERT_EQ(data.size(), 13u);
  EXPECT_EQ(data.substr(0, 8), std::string("\0\0\0\5\1\0\0\5", 8));
  std::string ping = EncodeControl(kPing, 0, PingPayload(7));
  EXPECT_EQ(ping, std::string("\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x07", 12));

  FrameReader reader;
  std::string both = data + ping + EncodeControl(kWindowUpdate, 0, WindowUpdatePayload(3, 1000));
  // Byte by byte: frames come out only when complete.
  std::vector<Frame> frames;
  for (char c : both) {
    reader.Append(std::string_view(&c, 1));
    for (;;) {
      auto f = reader.Next();
      ASSERT_TRUE(f.ok()) << f.status();
      if (!*f) break;
      frames.push_back(std::move(**f));
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_FALSE(frames[0].control);
  EXPECT_EQ(frames[0].stream_id, 5u);
  EXPECT_EQ(frames[0].flags, kFlagFin);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_TRUE(frames[1].control);
  EXPECT_EQ(frames[1].version, 3);
  EXPECT_EQ(frames[1].type, kPing);
  EXPECT_EQ(ReadU32(frames[1].payload, 0), 7u);
  EXPECT_EQ(frames[2].type, kWindowUpdate);
  EXPECT_EQ(ReadU32(frames[2].payload, 0), 3u);
  EXPECT_EQ(ReadU32(frames[2].payload, 4), 1000u);
  EXPECT_EQ(reader.buffered(), 0u);

  Frame f;
  f.control = true;
  f.type = kGoAway;
  f.payload = GoAwayPayload(9, 0);
  EXPECT_EQ(EncodeFrame(f), EncodeControl(kGoAway, 0, GoAwayPayload(9, 0)));

  FrameReader small(100);
  small.Append(EncodeData(1, 0, std::string(101, 'x')));
  EXPECT_FALSE(small.Next().ok());
}

TEST(SpdyFrameTest, ParsesSynStream) {
  auto syn = ParseSynStream(SynStreamPayload(3, "zzz"));
  ASSERT_TRUE(syn.ok());
  EXPECT_EQ(syn->stream_id, 3u);
  EXPECT_EQ(syn->header_block, "zzz");
  EXPECT_FALSE(ParseSynStream("short").ok());
}

TEST(SpdyHeadersTest, SerializesAndParsesBlocks) {
  HeaderBlock h{{"streamtype", "stdout"}, {"x-multi", std::string("a\0b", 3)}};
  auto parsed = ParseHeaderBlock(SerializeHeaderBlock(h));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, h);
  EXPECT_EQ(HeaderValue(h, "x-multi"), "a");
  EXPECT_EQ(HeaderValue(h, "missing"), "");
  EXPECT_EQ(SerializeHeaderBlock({{"StreamType", "x"}}), SerializeHeaderBlock({{"streamtype", "x"}}));
  EXPECT_FALSE(ParseHeaderBlock(std::string("\0\0\0\1\0\0\0\5ab", 10)).ok());
}

TEST(SpdyHeadersTest, CompressionRoundTripsOverOneZlibStream) {
  HeaderCompressor c;
  HeaderDecompressor d;
  std::vector<HeaderBlock> blocks = {
      {{"streamtype", "error"}},
      {},
      {{"streamtype", "stdin"}, {"requestid", "0"}},
      {{"streamtype", "stdout"}, {"big", std::string(20000, 'q')}},
      {{"streamtype", "stdout"}},  // repeats compress against the history
  };
  size_t previous = 0;
  for (const HeaderBlock& b : blocks) {
    auto z = c.Compress(b);
    ASSERT_TRUE(z.ok()) << z.status();
    if (&b == &blocks.back()) {
      EXPECT_LT(z->size(), previous);
    }
    previous = z->size();
    auto back = d.Decompress(*z);
    ASSERT_TRUE(back.ok()) << back.status();
    std::vector<std::pair<std::string, std::string>> expect(b.begin(), b.end());
    EXPECT_EQ(*back, expect);
  }
  // The first block is a zlib stream that names the SPDY/3 dictionary.
  HeaderCompressor c2;
  auto first = c2.Compress({{"a", "b"}});
  ASSERT_TRUE(first.ok());
  ASSERT_GE(first->size(), 6u);
  EXPECT_TRUE(static_cast<unsigned char>((*first)[1]) & 0x20);  // FDICT
  std::string_view dict = HeaderDictionary();
  uLong adler = adler32(adler32(0, nullptr, 0), reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size()));
  EXPECT_EQ(ReadU32(*first, 2), static_cast<uint32_t>(adler));
  // A decompressor fed garbage fails and stays failed.
  HeaderDecompressor bad;
  EXPECT_FALSE(bad.Decompress("not zlib at all").ok());
}

// An UpgradedConnection over one end of a socketpair.
class FdConnection : public lifeboat::http::UpgradedConnection {
 public:
  explicit FdConnection(int fd) : fd_(fd) {}
  ~FdConnection() override { ::close(fd_); }
  lifeboat::StatusOr<size_t> Read(std::span<char> buf) override {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n <= 0) return absl::NotFoundError("closed");
    return static_cast<size_t>(n);
  }
  lifeboat::Status Write(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return absl::UnavailableError("write failed");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  void Shutdown() override { ::shutdown(fd_, SHUT_RDWR); }

 private:
  int fd_;
};

// The client side of a test: frames over the other end of the socketpair.
class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}
  ~Client() { ::close(fd_); }
  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  void Open(uint32_t id, const std::string& type, uint8_t flags = 0) {
    auto block = compressor_.Compress({{"streamtype", type}});
    ASSERT_TRUE(block.ok());
    Send(EncodeControl(kSynStream, flags, SynStreamPayload(id, *block)));
  }
  // The next frame (skipping none); nullopt at EOF.
  std::optional<Frame> Next() {
    for (;;) {
      auto f = reader_.Next();
      if (!f.ok()) return std::nullopt;
      if (*f) return std::move(**f);
      char buf[65536];
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      reader_.Append(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  // The next frame that is not a WINDOW_UPDATE (those are counted).
  std::optional<Frame> NextNonWindow() {
    for (;;) {
      auto f = Next();
      if (!f || !(f->control && f->type == kWindowUpdate)) return f;
      window_updates.push_back({ReadU32(f->payload, 0), ReadU32(f->payload, 4)});
    }
  }
  HeaderDecompressor decompressor;
  std::vector<std::pair<uint32_t, uint32_t>> window_updates;

 private:
  int fd_;
  FrameReader reader_;
  HeaderCompressor compressor_;
};

class SpdySessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    conn_ = std::make_unique<FdConnection>(fds[0]);
    client_ = std::make_unique<Client>(fds[1]);
    Session::Options opts;
    opts.on_stream = [this](uint32_t id, const HeaderBlock& h) {
      std::lock_guard lock(mu_);
      opened_[HeaderValue(h, "streamtype")] = id;
    };
    session_ = std::make_unique<Session>(conn_.get(), std::move(opts));
    session_->Start();
  }
  void TearDown() override {
    session_.reset();
    conn_.reset();
  }
  // Expects a SYN_REPLY for `id` with an empty header block.
  void ExpectReply(uint32_t id) {
    auto f = client_->NextNonWindow();
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->control);
    ASSERT_EQ(f->type, kSynReply);
    EXPECT_EQ(ReadU32(f->payload, 0), id);
    auto h = client_->decompressor.Decompress(std::string_view(f->payload).substr(4));
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_TRUE(h->empty());
  }
  // The session may send its SYN_REPLY before the stream callback has run: wait for it.
  uint32_t Opened(const std::string& type) {
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard lock(mu_);
        if (opened_.count(type)) return opened_[type];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return 0;
  }

  std::unique_ptr<FdConnection> conn_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Session> session_;
  std::mutex mu_;
  std::map<std::string, uint32_t> opened_;
};

TEST_F(SpdySessionTest, RepliesToStreamsAndCarriesDataBothWays) {
  client_->Open(1, "error");
  ExpectReply(1);
  client_->Open(3, "stdin");
  ExpectReply(3);
  client_->Open(5, "stdout");
  ExpectReply(5);
  EXPECT_EQ(Opened("error"), 1u);
  EXPECT_EQ(Opened("stdin"), 3u);
  EXPECT_EQ(Opened("stdout"), 5u);

  // PING from the client is echoed.
  client_->Send(EncodeControl(kPing, 0, PingPayload(1)));
  auto pong = client_->NextNonWindow();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, kPing);
  EXPECT_EQ(ReadU32(pong->payload, 0), 1u);

  // stdin: 100 KB then FIN; the server grants window back as it consumes.
  std::string in(100000, 'i');
  client_->Send(EncodeData(3, 0, in.substr(0, 60000)));
  std::string got;
  while (got.size() < 60000) {
    auto chunk = session_->Receive(3);
    ASSERT_TRUE(chunk);
    got += *chunk;
  }
  client_->Send(EncodeData(3, kFlagFin, in.substr(60000)));
  while (auto chunk = session_->Receive(3)) got += *chunk;
  EXPECT_EQ(got, in);

  // stdout: 300 KB from the server; the client does no flow control (like spdystream), so it
  // all comes without WINDOW_UPDATEs.
  std::string out(300000, 'o');
  std::thread sender([&] { EXPECT_TRUE(session_->SendData(5, out, true).ok()); });
  std::string received;
  bool fin = false;
  while (!fin) {
    auto f = client_->NextNonWindow();
    ASSERT_TRUE(f);
    ASSERT_FALSE(f->control);
    ASSERT_EQ(f->stream_id, 5u);
    EXPECT_LE(f->payload.size(), 32u * 1024);
    received += f->payload;
    fin = f->flags & kFlagFin;
  }
  sender.join();
  EXPECT_EQ(received, out);
  EXPECT_FALSE(session_->SendData(5, "more", false).ok());  // already closed

  // The window updates for stdin: stream 3 (while it was open) and the connection.
  uint64_t stream3 = 0, conn = 0;
  for (auto [id, delta] : client_->window_updates) (id == 0 ? conn : stream3) += delta;
  EXPECT_GE(stream3, 32768u);
  EXPECT_GE(conn, 65536u);

  // The error stream: a status and FIN; then the client goes away.
  ASSERT_TRUE(session_->SendData(1, "{\"status\":\"Success\"}", true).ok());
  auto status = client_->NextNonWindow();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->stream_id, 1u);
  EXPECT_EQ(status->flags, kFlagFin);
  EXPECT_EQ(status->payload, "{\"status\":\"Success\"}");
  client_->Send(EncodeControl(kGoAway, 0, GoAwayPayload(0, 0)));
  client_.reset();
  EXPECT_TRUE(session_->WaitClosed(std::chrono::seconds(5)));
  EXPECT_TRUE(session_->PeerGoingAway());
  EXPECT_FALSE(session_->Receive(3).has_value());
}

TEST_F(SpdySessionTest, RespectsThePeersWindowsOnceItDoesFlowControl) {
  client_->Open(1, "stdout");
  ExpectReply(1);
  // SETTINGS: initial window 10 bytes for every stream (the stream already open shrinks too).
  std::string settings;
  settings += std::string("\0\0\0\1", 4);
  settings += std::string("\0\0\0\7", 4);
  settings += std::string("\0\0\0\x0a", 4);
  client_->Send(EncodeControl(kSettings, 0, settings));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::atomic<bool> done{false};
  std::thread sender([&] {
    EXPECT_TRUE(session_->SendData(1, std::string(25, 'x'), true).ok());
    done = true;
  });
  auto f1 = client_->NextNonWindow();
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->payload.size(), 10u);
  EXPECT_EQ(f1->flags, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done.load());  // blocked on the window
  client_->Send(EncodeControl(kWindowUpdate, 0, WindowUpdatePayload(1, 15)));
  auto f2 = client_->NextNonWindow();
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->payload.size(), 15u);
  EXPECT_EQ(f2->flags, kFlagFin);
  sender.join();
  EXPECT_TRUE(done.load());
}

TEST_F(SpdySessionTest, ResetAndShutdownWakeBlockedCallers) {
  client_->Open(1, "stdin");
  ExpectReply(1);
  client_->Open(3, "stdout");
  ExpectReply(3);
  std::thread receiver([&] { EXPECT_FALSE(session_->Receive(1).has_value()); });
  client_->Send(EncodeControl(kRstStream, 0, RstStreamPayload(1, kCancel)));
  receiver.join();
  EXPECT_FALSE(session_->SendData(1, "x", false).ok());
  // Data for an unknown stream is answered with RST_STREAM.
  client_->Send(EncodeData(9, 0, "zz"));
  auto rst = client_->NextNonWindow();
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->type, kRstStream);
  EXPECT_EQ(ReadU32(rst->payload, 0), 9u);
  // A stream id that goes backwards is a protocol error for that stream.
  client_->Open(3, "stdout");
  auto rst2 = client_->NextNonWindow();
  ASSERT_TRUE(rst2);
  EXPECT_EQ(rst2->type, kRstStream);
  std::thread receiver2([&] { EXPECT_FALSE(session_->Receive(3).has_value()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  session_->Shutdown();
  receiver2.join();
  EXPECT_FALSE(session_->SendData(3, "x", false).ok());
}

}  // namespace
}  // namespace kubesim::spdy
