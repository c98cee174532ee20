// End-to-end tests of kubesim's CSI snapshots: in-memory clusters with the lifecycle, workload
// and snapshot controllers running on their own threads (two clusters share a snapshot
// directory where a test needs it), polling with generous deadlines until the state the
// controllers should reach. Nothing asserts on timing; where a test checks that something does
// NOT happen, it first waits for a marker proving the controllers have had their chance.

#include "kubesim/src/controllers/snapshots/snapshots.h"

#include <stdlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "kubesim/src/api/cluster.h"
#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/controller.h"
#include "kubesim/src/controllers/lifecycle/lifecycle.h"
#include "kubesim/src/controllers/workloads/util.h"
#include "kubesim/src/controllers/workloads/workloads.h"
#include "kubesim/src/exec/exec.h"
#include "lifeboat/http/server.h"

namespace kubesim::snapshots {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace beast = boost::beast;
namespace asio = boost::asio;
using workloads::Find;
using workloads::GetBool;
using workloads::GetInt;
using workloads::GetString;

constexpr char kCaPem[] =
    "-----BEGIN CERTIFICATE-----\nMIIBkubesimtestca\n-----END CERTIFICATE-----\n";

fs::path TempDir(const std::string& what) {
  std::string tmpl =
      (fs::temp_directory_path() / ("kubesim_snapshots_test_" + what + ".XXXXXX")).string();
  char* d = ::mkdtemp(tmpl.data());
  return d ? fs::path(d) : fs::path();
}

// Polls `done` until it holds or a generous deadline passes.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// FNV-1a 64 of a file's bytes, in hex.
std::string Checksum(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Relative path -> checksum of every regular file below `dir`.
std::map<std::string, std::string> TreeChecksums(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file())
      out[fs::relative(it->path(), dir).string()] = Checksum(ReadFile(it->path()));
  }
  return out;
}

// One in-memory cluster with its controllers.
struct Sim {
  Sim(const fs::path& data, const fs::path& snapshots) : data_dir(data), snapshot_dir(snapshots) {
    store = *Store::Open({});
    cluster = std::make_unique<Cluster>(store.get(), &registry, Cluster::Options{});
    EXPECT_TRUE(cluster->Bootstrap().ok());
    Status s = EnsureSnapshotApi(*cluster);
    EXPECT_TRUE(s.ok()) << s;
    ControllerContext ctx;
    ctx.cluster = cluster.get();
    ctx.data_dir = data_dir;
    ctx.snapshot_dir = snapshot_dir;
    ctx.ca_pem = kCaPem;
    ctx.nodes = 2;
    runner = std::make_unique<ControllerRunner>(store.get(), std::chrono::milliseconds(500));
    AddLifecycleControllers(*runner, ctx);
    AddWorkloadControllers(*runner, ctx);
    AddSnapshotControllers(*runner, ctx);
    runner->Start();
    WaitUntilRunning();
  }
  ~Sim() { runner->Stop(); }

  // Events before a controller's thread starts are not replayed (its first resync sees what
  // exists then): wait until both snapshot controllers have handled a probe object.
  void WaitUntilRunning() {
    Create(
        kGroup, "volumesnapshotcontents", "",
        R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{"name":"probe"},)"
        R"("spec":{"deletionPolicy":"Retain","driver":"hostpath.csi.kubesim.io","source":{"snapshotHandle":"probe"},)"
        R"("volumeSnapshotRef":{"name":"probe","namespace":"kube-system"}}})");
    Create(
        kGroup, "volumesnapshots", "kube-system",
        R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"probe"},)"
        R"("spec":{"source":{"volumeSnapshotContentName":"probe"}}})");
    EXPECT_TRUE(WaitFor([&] {
      ObjectPtr c = Get(kContentsGr, "", "probe");
      ObjectPtr v = Get(kVolumeSnapshotsGr, "kube-system", "probe");
      return c != nullptr && v != nullptr &&
             !GetString(c->object, {"status", "error", "message"}).empty() &&
             !GetString(v->object, {"status", "error", "message"}).empty();
    }));
    EXPECT_TRUE(Delete(kGroup, "volumesnapshots", "kube-system", "probe").ok());
    EXPECT_TRUE(Delete(kGroup, "volumesnapshotcontents", "", "probe").ok());
    EXPECT_TRUE(WaitFor([&] {
      return Get(kContentsGr, "", "probe") == nullptr &&
             Get(kVolumeSnapshotsGr, "kube-system", "probe") == nullptr;
    }));
  }

  ResourceType Type(const std::string& group, const std::string& resource) {
    return registry.StorageType(group, resource)->type;
  }
  ObjectPtr Get(const std::string& gr, const std::string& ns, const std::string& name) {
    return store->Get(gr, ns, name);
  }
  json::value Create(const std::string& group, const std::string& resource, const std::string& ns,
                     const std::string& yaml_json) {
    auto created = cluster->Create(Type(group, resource), ns, json::parse(yaml_json), {});
    EXPECT_TRUE(created.ok()) << created.status() << " creating " << yaml_json;
    return created.ok() ? *created : json::value();
  }
  Status Delete(const std::string& group, const std::string& resource, const std::string& ns,
                const std::string& name) {
    return cluster->Delete(Type(group, resource), ns, name, {}).status();
  }
  bool MergePatch(const std::string& group, const std::string& resource, const std::string& ns,
                  const std::string& name, const std::string& patch) {
    auto r =
        cluster->Patch(Type(group, resource), ns, name, PatchType::kMerge, json::parse(patch), {});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok();
  }

  // A claim of class csi-hostpath (optionally restoring snapshot `from`, through dataSource or
  // dataSourceRef); waits until it is bound and returns its volume's name ("" if not bound).
  std::string Claim(const std::string& ns, const std::string& name, const std::string& from = "",
                    bool ref = false, bool wait = true, const std::string& cls = kStorageClass) {
    std::string source;
    if (!from.empty()) {
      source = std::string(R"(,")") + (ref ? "dataSourceRef" : "dataSource") +
               R"(":{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":")" +
               from + R"("})";
    }
    Create("", "persistentvolumeclaims", ns,
           R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":")" + name +
               R"("},"spec":{"storageClassName":")" + cls +
               R"(","accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}})" +
               source + "}}");
    if (!wait) return "";
    std::string pv;
    EXPECT_TRUE(WaitFor([&] {
      ObjectPtr c = Get("persistentvolumeclaims", ns, name);
      if (c == nullptr || GetString(c->object, {"status", "phase"}) != "Bound") return false;
      pv = GetString(c->object, {"spec", "volumeName"});
      return true;
    })) << "claim "
        << ns << "/" << name << " not bound";
    return pv;
  }

  void Snapshot(const std::string& ns, const std::string& name, const std::string& pvc,
                const std::string& cls = kSnapshotClass) {
    Create(
        kGroup, "volumesnapshots", ns,
        R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":")" +
            name + R"("},"spec":{"volumeSnapshotClassName":")" + cls +
            R"(","source":{"persistentVolumeClaimName":")" + pvc + R"("}}})");
  }

  // Waits until snapshot ns/name is ready; returns it (null if it never got ready).
  ObjectPtr WaitReady(const std::string& ns, const std::string& name) {
    ObjectPtr vs;
    bool ok = WaitFor([&] {
      vs = Get(kVolumeSnapshotsGr, ns, name);
      return vs != nullptr && GetBool(vs->object, {"status", "readyToUse"}, false);
    });
    EXPECT_TRUE(ok) << "snapshot " << ns << "/" << name
                    << " not ready: " << (vs ? json::serialize(vs->object) : std::string("absent"));
    return ok ? vs : nullptr;
  }

  ObjectPtr ContentOf(const ObjectPtr& vs) {
    return Get(kContentsGr, "",
               GetString(vs->object, {"status", "boundVolumeSnapshotContentName"}));
  }

  fs::path data_dir, snapshot_dir;
  std::unique_ptr<Store> store;
  Registry registry;
  std::unique_ptr<Cluster> cluster;
  std::unique_ptr<ControllerRunner> runner;
};

class SnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TempDir("root");
    ASSERT_FALSE(root_.empty());
    shared_snapshots_ = root_ / "shared-snapshots";
    a_ = std::make_unique<Sim>(root_ / "a", shared_snapshots_);
    ASSERT_TRUE(WaitFor(
        [&] { return a_->Get("storageclasses.storage.k8s.io", "", "standard") != nullptr; }));
  }
  void TearDown() override {
    if (server_) server_->Stop();
    exec_.reset();
    b_.reset();
    a_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  Sim& B() {
    if (b_ == nullptr) b_ = std::make_unique<Sim>(root_ / "b", shared_snapshots_);
    return *b_;
  }

  // Files with nested directories and binary bytes, written into volume `pv` of cluster `sim`.
  static std::map<std::string, std::string> Populate(Sim& sim, const std::string& pv,
                                                     const std::string& tag) {
    const fs::path dir = sim.data_dir / "volumes" / pv;
    WriteFile(dir / "a.txt", "alpha " + tag + "\n");
    std::string binary;
    for (int i = 0; i < 70000; ++i)
      binary.push_back(static_cast<char>((i * 31 + tag.size()) & 0xff));
    WriteFile(dir / "sub" / "deep" / "blob.bin", binary);
    WriteFile(dir / "sub" / "empty", "");
    return TreeChecksums(dir);
  }

  // Starts exec for cluster A behind a plain HTTP server.
  void StartExec() {
    exec_ = std::make_unique<ExecService>(a_->cluster.get(), a_->data_dir);
    auto server = lifeboat::http::Server::Start(
        {}, [this](lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w) {
          // /api/v1/namespaces/<ns>/pods/<pod>/<sub>
          std::vector<std::string> parts;
          std::string p = req.path;
          size_t start = 1;
          while (start <= p.size()) {
            size_t slash = p.find('/', start);
            parts.push_back(
                p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
            if (slash == std::string::npos) break;
            start = slash + 1;
          }
          ASSERT_EQ(parts.size(), 7u) << p;
          exec_->Handle(req, w, parts[3], parts[5]);
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // Runs `command` (argv) in ns/pod over a v5.channel.k8s.io WebSocket; returns channel -> data.
  std::map<int, std::string> Exec(const std::string& ns, const std::string& pod,
                                  const std::vector<std::string>& command,
                                  const std::string& container = "") {
    std::map<int, std::string> channels;
    std::string query = "stdout=true&stderr=true";
    if (!container.empty()) query += "&container=" + container;
    for (const std::string& c : command) {
      std::string enc;
      for (unsigned char ch : c) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
          enc.push_back(static_cast<char>(ch));
        } else {
          char buf[4];
          std::snprintf(buf, sizeof(buf), "%%%02X", ch);
          enc += buf;
        }
      }
      query += "&command=" + enc;
    }
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    beast::websocket::stream<asio::ip::tcp::socket&> ws(sock);
    ws.set_option(
        beast::websocket::stream_base::decorator([&](beast::websocket::request_type& req) {
          req.set(beast::http::field::sec_websocket_protocol, "v5.channel.k8s.io");
        }));
    beast::websocket::response_type res;
    beast::error_code ec;
    ws.handshake(res, "127.0.0.1", "/api/v1/namespaces/" + ns + "/pods/" + pod + "/exec?" + query,
                 ec);
    if (ec) {
      ADD_FAILURE() << "handshake: " << ec.message();
      return channels;
    }
    ws.binary(true);
    for (;;) {
      beast::flat_buffer buf;
      ws.read(buf, ec);
      if (ec) break;
      std::string msg = beast::buffers_to_string(buf.data());
      if (msg.empty()) continue;
      channels[static_cast<unsigned char>(msg[0])] += msg.substr(1);
    }
    return channels;
  }

  fs::path root_, shared_snapshots_;
  std::unique_ptr<Sim> a_, b_;
  std::unique_ptr<ExecService> exec_;
  std::unique_ptr<lifeboat::http::Server> server_;
};

TEST(QuantityTest, FormatsAndParsesBinaryQuantities) {
  EXPECT_EQ(FormatBinaryQuantity(0), "0");
  EXPECT_EQ(FormatBinaryQuantity(1073741824), "1Gi");
  EXPECT_EQ(FormatBinaryQuantity(1536 * 1024), "1536Ki");
  EXPECT_EQ(FormatBinaryQuantity(1000), "1000");
  EXPECT_EQ(ParseQuantityBytes("1Gi"), 1073741824);
  EXPECT_EQ(ParseQuantityBytes("500M"), 500000000);
  EXPECT_EQ(ParseQuantityBytes("12"), 12);
  EXPECT_EQ(ParseQuantityBytes("1Xi"), std::nullopt);
  EXPECT_EQ(ParseQuantityBytes("abc"), std::nullopt);
}

TEST(HandleTest, OnlyPlainNamesAreHandles) {
  EXPECT_TRUE(IsValidHandle("snapshot-1234"));
  EXPECT_FALSE(IsValidHandle(""));
  EXPECT_FALSE(IsValidHandle(".."));
  EXPECT_FALSE(IsValidHandle(".tmp-x"));
  EXPECT_FALSE(IsValidHandle("a/b"));
}

TEST_F(SnapshotsTest, ApiObjectsAreInstalledOnceAndServed) {
  EXPECT_TRUE(a_->registry.StorageType(kGroup, "volumesnapshots").has_value());
  auto vsc = a_->registry.StorageType(kGroup, "volumesnapshotcontents");
  ASSERT_TRUE(vsc.has_value());
  EXPECT_FALSE(vsc->type.namespaced);
  ObjectPtr cls = a_->Get(kClassesGr, "", kSnapshotClass);
  ASSERT_NE(cls, nullptr);
  EXPECT_EQ(GetString(cls->object, {"driver"}), kDriver);
  EXPECT_EQ(GetString(cls->object, {"deletionPolicy"}), "Delete");
  EXPECT_EQ(GetString(cls->object, {"metadata", "labels", "velero.io/csi-volumesnapshot-class"}),
            "true");
  ObjectPtr sc = a_->Get("storageclasses.storage.k8s.io", "", kStorageClass);
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(GetString(sc->object, {"provisioner"}), kDriver);
  // "standard" is still the default class; csi-hostpath is not.
  EXPECT_EQ(GetString(sc->object,
                      {"metadata", "annotations", "storageclass.kubernetes.io/is-default-class"}),
            "");
  // Idempotent, and a changed object is left alone.
  ASSERT_TRUE(a_->MergePatch(kGroup, "volumesnapshotclasses", "", kSnapshotClass,
                             R"({"parameters":{"x":"y"}})"));
  ASSERT_TRUE(EnsureSnapshotApi(*a_->cluster).ok());
  EXPECT_EQ(GetString(a_->Get(kClassesGr, "", kSnapshotClass)->object, {"parameters", "x"}), "y");
  // The schema is enforced: exactly one source.
  auto both = a_->cluster->Create(
      a_->Type(kGroup, "volumesnapshots"), "default",
      json::parse(
          R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"x"},)"
          R"("spec":{"source":{"persistentVolumeClaimName":"a","volumeSnapshotContentName":"b"}}})"),
      {});
  EXPECT_FALSE(both.ok());
  auto bad_policy = a_->cluster->Create(
      a_->Type(kGroup, "volumesnapshotcontents"), "",
      json::parse(
          R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{"name":"x"},)"
          R"("spec":{"deletionPolicy":"Keep","driver":"d","source":{"snapshotHandle":"h"},)"
          R"("volumeSnapshotRef":{"name":"x","namespace":"default"}}})"),
      {});
  EXPECT_FALSE(bad_policy.ok());
}

TEST_F(SnapshotsTest, DynamicSnapshotCopiesTheVolumeAndIsReady) {
  const std::string pv = a_->Claim("default", "data");
  ASSERT_FALSE(pv.empty());
  ObjectPtr pv_obj = a_->Get("persistentvolumes", "", pv);
  ASSERT_NE(pv_obj, nullptr);
  EXPECT_EQ(GetString(pv_obj->object, {"spec", "csi", "driver"}), kDriver);
  EXPECT_EQ(GetString(pv_obj->object, {"spec", "csi", "volumeHandle"}), pv);
  const auto want = Populate(*a_, pv, "one");

  a_->Snapshot("default", "snap", "data");
  ObjectPtr vs = a_->WaitReady("default", "snap");
  ASSERT_NE(vs, nullptr);
  const std::string uid = MetaString(vs->object, "uid");
  EXPECT_EQ(GetString(vs->object, {"status", "boundVolumeSnapshotContentName"}),
            "snapcontent-" + uid);
  EXPECT_EQ(GetString(vs->object, {"status", "restoreSize"}), "1Gi");
  EXPECT_FALSE(GetString(vs->object, {"status", "creationTime"}).empty());
  EXPECT_EQ(Find(vs->object, {"status", "error"}), nullptr);
  ObjectPtr vsc = a_->ContentOf(vs);
  ASSERT_NE(vsc, nullptr);
  EXPECT_EQ(GetString(vsc->object, {"spec", "deletionPolicy"}), "Delete");
  EXPECT_EQ(GetString(vsc->object, {"spec", "driver"}), kDriver);
  EXPECT_EQ(GetString(vsc->object, {"spec", "source", "volumeHandle"}), pv);
  EXPECT_EQ(GetString(vsc->object, {"spec", "volumeSnapshotRef", "uid"}), uid);
  EXPECT_TRUE(GetBool(vsc->object, {"status", "readyToUse"}, false));
  EXPECT_EQ(GetInt(vsc->object, {"status", "restoreSize"}, -1), 1073741824);
  EXPECT_GT(GetInt(vsc->object, {"status", "creationTime"}, 0), 1700000000LL * 1000000000LL);
  const std::string handle = GetString(vsc->object, {"status", "snapshotHandle"});
  ASSERT_TRUE(IsValidHandle(handle));
  EXPECT_EQ(TreeChecksums(shared_snapshots_ / handle), want);
  EXPECT_TRUE(fs::exists(shared_snapshots_ / (handle + ".json")));
  EXPECT_TRUE(
      HasFinalizer(vs->object, "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"));

  // Later writes to the volume do not change the snapshot.
  WriteFile(a_->data_dir / "volumes" / pv / "a.txt", "changed\n");
  EXPECT_EQ(TreeChecksums(shared_snapshots_ / handle), want);
}

TEST_F(SnapshotsTest, ClaimFromSnapshotStartsWithItsData) {
  const std::string pv = a_->Claim("default", "data");
  ASSERT_FALSE(pv.empty());
  const auto want = Populate(*a_, pv, "restore");
  // The claim exists before the snapshot: it waits for it.
  a_->Claim("default", "restored", "snap", false, /*wait=*/false);
  a_->Snapshot("default", "snap", "data");
  ASSERT_NE(a_->WaitReady("default", "snap"), nullptr);
  WriteFile(a_->data_dir / "volumes" / pv / "after-snapshot", "not in the snapshot");
  const std::string restored = a_->Claim("default", "restored2", "snap", /*ref=*/true);
  std::string first;
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr c = a_->Get("persistentvolumeclaims", "default", "restored");
    first = c ? GetString(c->object, {"spec", "volumeName"}) : "";
    return !first.empty() && GetString(c->object, {"status", "phase"}) == "Bound";
  }));
  for (const std::string& v : {first, restored}) {
    EXPECT_NE(v, pv);
    EXPECT_EQ(TreeChecksums(a_->data_dir / "volumes" / v), want) << v;
    ObjectPtr obj = a_->Get("persistentvolumes", "", v);
    ASSERT_NE(obj, nullptr);
    EXPECT_EQ(GetString(obj->object, {"spec", "csi", "driver"}), kDriver);
  }
}

TEST_F(SnapshotsTest, ClaimFromMissingSnapshotStaysPending) {
  a_->Claim("default", "orphan", "no-such-snapshot", false, /*wait=*/false);
  // Marker: a normal claim created afterwards gets bound, so the binder has seen both.
  ASSERT_FALSE(a_->Claim("default", "marker").empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ObjectPtr c = a_->Get("persistentvolumeclaims", "default", "orphan");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(GetString(c->object, {"status", "phase"}), "Pending");
  EXPECT_EQ(GetString(c->object, {"spec", "volumeName"}), "");
}

TEST_F(SnapshotsTest, PreProvisionedContentInASecondClusterSharingTheSnapshotDir) {
  const std::string pv = a_->Claim("default", "data");
  ASSERT_FALSE(pv.empty());
  const auto want = Populate(*a_, pv, "shared");
  a_->Snapshot("default", "snap", "data");
  ObjectPtr vs = a_->WaitReady("default", "snap");
  ASSERT_NE(vs, nullptr);
  const std::string handle = GetString(a_->ContentOf(vs)->object, {"status", "snapshotHandle"});

  Sim& b = B();
  b.Create("", "namespaces", "",
           R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"restored"}})");
  b.Create(
      kGroup, "volumesnapshotcontents", "",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{"name":"imported"},)"
      R"("spec":{"deletionPolicy":"Retain","driver":"hostpath.csi.kubesim.io","source":{"snapshotHandle":")" +
          handle +
          R"("},"volumeSnapshotClassName":"csi-hostpath-snapclass",)"
          R"("volumeSnapshotRef":{"name":"imported","namespace":"restored"}}})");
  b.Create(
      kGroup, "volumesnapshots", "restored",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"imported"},)"
      R"("spec":{"source":{"volumeSnapshotContentName":"imported"}}})");
  ObjectPtr bvs = b.WaitReady("restored", "imported");
  ASSERT_NE(bvs, nullptr);
  EXPECT_EQ(GetString(bvs->object, {"status", "boundVolumeSnapshotContentName"}), "imported");
  EXPECT_EQ(GetString(bvs->object, {"status", "restoreSize"}), "1Gi");
  ObjectPtr content = b.Get(kContentsGr, "", "imported");
  ASSERT_NE(content, nullptr);
  EXPECT_EQ(GetString(content->object, {"spec", "volumeSnapshotRef", "uid"}),
            MetaString(bvs->object, "uid"));
  EXPECT_EQ(GetString(content->object, {"status", "snapshotHandle"}), handle);
  const std::string restored = b.Claim("restored", "data", "imported");
  ASSERT_FALSE(restored.empty());
  EXPECT_EQ(TreeChecksums(b.data_dir / "volumes" / restored), want);
  EXPECT_FALSE(fs::exists(a_->data_dir / "volumes" / restored));

  // Retain in B: deleting B's snapshot and content keeps the data A still uses.
  ASSERT_TRUE(b.Delete(kGroup, "volumesnapshots", "restored", "imported").ok());
  ASSERT_TRUE(
      WaitFor([&] { return b.Get(kVolumeSnapshotsGr, "restored", "imported") == nullptr; }));
  ASSERT_TRUE(b.Delete(kGroup, "volumesnapshotcontents", "", "imported").ok());
  ASSERT_TRUE(WaitFor([&] { return b.Get(kContentsGr, "", "imported") == nullptr; }));
  EXPECT_EQ(TreeChecksums(shared_snapshots_ / handle), want);
}

TEST_F(SnapshotsTest, PreProvisionedContentWithMissingHandleReportsAnErrorUntilItAppears) {
  a_->Create(
      kGroup, "volumesnapshotcontents", "",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{"name":"later"},)"
      R"("spec":{"deletionPolicy":"Delete","driver":"hostpath.csi.kubesim.io","source":{"snapshotHandle":"snap-later"},)"
      R"("volumeSnapshotRef":{"name":"later","namespace":"default"}}})");
  a_->Create(
      kGroup, "volumesnapshots", "default",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"later"},)"
      R"("spec":{"source":{"volumeSnapshotContentName":"later"}}})");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr c = a_->Get(kContentsGr, "", "later");
    return c != nullptr && !GetString(c->object, {"status", "error", "message"}).empty();
  }));
  ObjectPtr c = a_->Get(kContentsGr, "", "later");
  EXPECT_FALSE(GetBool(c->object, {"status", "readyToUse"}, true));
  EXPECT_NE(GetString(c->object, {"status", "error", "message"}).find("snap-later"),
            std::string::npos);
  EXPECT_FALSE(GetString(c->object, {"status", "error", "time"}).empty());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr vs = a_->Get(kVolumeSnapshotsGr, "default", "later");
    return vs != nullptr && !GetString(vs->object, {"status", "error", "message"}).empty();
  }));
  // The data appears (another cluster wrote it): the next resync finds it.
  WriteFile(shared_snapshots_ / "snap-later" / "f", "late data");
  ObjectPtr vs = a_->WaitReady("default", "later");
  ASSERT_NE(vs, nullptr);
  EXPECT_EQ(Find(vs->object, {"status", "error"}), nullptr);
  EXPECT_EQ(GetString(vs->object, {"status", "restoreSize"}),
            "9");  // no metadata: the files' bytes
  // Deleting the snapshot deletes the content (policy Delete), which deletes the data.
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshots", "default", "later").ok());
  ASSERT_TRUE(WaitFor([&] {
    return a_->Get(kContentsGr, "", "later") == nullptr &&
           a_->Get(kVolumeSnapshotsGr, "default", "later") == nullptr;
  }));
  EXPECT_FALSE(fs::exists(shared_snapshots_ / "snap-later"));
}

TEST_F(SnapshotsTest, DeletionPolicyDeleteRemovesContentAndData) {
  const std::string pv = a_->Claim("default", "data");
  ASSERT_FALSE(pv.empty());
  Populate(*a_, pv, "del");
  a_->Snapshot("default", "snap", "data");
  ObjectPtr vs = a_->WaitReady("default", "snap");
  ASSERT_NE(vs, nullptr);
  const std::string content = GetString(vs->object, {"status", "boundVolumeSnapshotContentName"});
  const std::string handle = GetString(a_->ContentOf(vs)->object, {"status", "snapshotHandle"});
  ASSERT_TRUE(fs::is_directory(shared_snapshots_ / handle));
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshots", "default", "snap").ok());
  ASSERT_TRUE(WaitFor([&] {
    return a_->Get(kVolumeSnapshotsGr, "default", "snap") == nullptr &&
           a_->Get(kContentsGr, "", content) == nullptr;
  }));
  EXPECT_FALSE(fs::exists(shared_snapshots_ / handle));
  EXPECT_FALSE(fs::exists(shared_snapshots_ / (handle + ".json")));
  // The source volume is untouched.
  EXPECT_TRUE(fs::exists(a_->data_dir / "volumes" / pv / "a.txt"));
}

TEST_F(SnapshotsTest, ContentDeletedRightAfterCreationStillDeletesTheData) {
  WriteFile(shared_snapshots_ / "snap-gone" / "f", "bytes");
  a_->Create(
      kGroup, "volumesnapshotcontents", "",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{"name":"gone"},)"
      R"("spec":{"deletionPolicy":"Delete","driver":"hostpath.csi.kubesim.io","source":{"snapshotHandle":"snap-gone"},)"
      R"("volumeSnapshotRef":{"name":"gone","namespace":"default"}}})");
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshotcontents", "", "gone").ok());
  ASSERT_TRUE(WaitFor([&] { return a_->Get(kContentsGr, "", "gone") == nullptr; }));
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(shared_snapshots_ / "snap-gone"); }));
}

TEST_F(SnapshotsTest, SnapshotWhoseContentWasDeletedReportsItMissing) {
  ASSERT_FALSE(a_->Claim("default", "data").empty());
  a_->Create(
      kGroup, "volumesnapshotclasses", "",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass","metadata":{"name":"retain"},)"
      R"("driver":"hostpath.csi.kubesim.io","deletionPolicy":"Retain"})");
  a_->Snapshot("default", "snap", "data", "retain");
  ObjectPtr vs = a_->WaitReady("default", "snap");
  ASSERT_NE(vs, nullptr);
  const std::string content = GetString(vs->object, {"status", "boundVolumeSnapshotContentName"});
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshotcontents", "", content).ok());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr v = a_->Get(kVolumeSnapshotsGr, "default", "snap");
    return v != nullptr && GetString(v->object, {"status", "error", "message"}) ==
                               "VolumeSnapshotContent is missing";
  }));
  EXPECT_FALSE(GetBool(a_->Get(kVolumeSnapshotsGr, "default", "snap")->object,
                       {"status", "readyToUse"}, true));
  EXPECT_EQ(a_->Get(kContentsGr, "", content), nullptr);  // not taken again
}

TEST_F(SnapshotsTest, DeletionPolicyRetainKeepsContentAndData) {
  a_->Create(
      kGroup, "volumesnapshotclasses", "",
      R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass","metadata":{"name":"retain"},)"
      R"("driver":"hostpath.csi.kubesim.io","deletionPolicy":"Retain"})");
  const std::string pv = a_->Claim("default", "data");
  ASSERT_FALSE(pv.empty());
  const auto want = Populate(*a_, pv, "retain");
  a_->Snapshot("default", "snap", "data", "retain");
  ObjectPtr vs = a_->WaitReady("default", "snap");
  ASSERT_NE(vs, nullptr);
  const std::string content = GetString(vs->object, {"status", "boundVolumeSnapshotContentName"});
  EXPECT_EQ(GetString(a_->ContentOf(vs)->object, {"spec", "deletionPolicy"}), "Retain");
  const std::string handle = GetString(a_->ContentOf(vs)->object, {"status", "snapshotHandle"});
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshots", "default", "snap").ok());
  ASSERT_TRUE(WaitFor([&] { return a_->Get(kVolumeSnapshotsGr, "default", "snap") == nullptr; }));
  ObjectPtr kept = a_->Get(kContentsGr, "", content);
  ASSERT_NE(kept, nullptr);
  EXPECT_TRUE(GetBool(kept->object, {"status", "readyToUse"}, false));
  EXPECT_EQ(TreeChecksums(shared_snapshots_ / handle), want);
  // Deleting the retained content itself still keeps the data.
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshotcontents", "", content).ok());
  ASSERT_TRUE(WaitFor([&] { return a_->Get(kContentsGr, "", content) == nullptr; }));
  EXPECT_EQ(TreeChecksums(shared_snapshots_ / handle), want);

  // Switching a content from Delete to Retain (as Velero does) keeps it too.
  a_->Snapshot("default", "snap2", "data");
  ObjectPtr vs2 = a_->WaitReady("default", "snap2");
  ASSERT_NE(vs2, nullptr);
  const std::string content2 = GetString(vs2->object, {"status", "boundVolumeSnapshotContentName"});
  ASSERT_TRUE(a_->MergePatch(kGroup, "volumesnapshotcontents", "", content2,
                             R"({"spec":{"deletionPolicy":"Retain"}})"));
  ASSERT_TRUE(a_->Delete(kGroup, "volumesnapshots", "default", "snap2").ok());
  ASSERT_TRUE(WaitFor([&] { return a_->Get(kVolumeSnapshotsGr, "default", "snap2") == nullptr; }));
  EXPECT_NE(a_->Get(kContentsGr, "", content2), nullptr);
}

TEST_F(SnapshotsTest, SnapshotOfAMissingOrUnusableClaimReportsAnError) {
  a_->Snapshot("default", "missing", "nope");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr vs = a_->Get(kVolumeSnapshotsGr, "default", "missing");
    return vs != nullptr && !GetString(vs->object, {"status", "error", "message"}).empty();
  }));
  ObjectPtr vs = a_->Get(kVolumeSnapshotsGr, "default", "missing");
  EXPECT_FALSE(GetBool(vs->object, {"status", "readyToUse"}, true));
  EXPECT_NE(GetString(vs->object, {"status", "error", "message"}).find("persistentvolumeclaim"),
            std::string::npos);
  EXPECT_NE(GetString(vs->object, {"status", "error", "message"}).find("not found"),
            std::string::npos);
  EXPECT_FALSE(GetString(vs->object, {"status", "error", "time"}).empty());
  EXPECT_EQ(a_->Get(kContentsGr, "", "snapcontent-" + MetaString(vs->object, "uid")), nullptr);

  // A claim of another driver ("standard" is kubesim.io/hostpath).
  ASSERT_FALSE(a_->Claim("default", "plain", "", false, true, "standard").empty());
  a_->Snapshot("default", "other-driver", "plain");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr v = a_->Get(kVolumeSnapshotsGr, "default", "other-driver");
    return v != nullptr &&
           GetString(v->object, {"status", "error", "message"}).find("kubesim.io/hostpath") !=
               std::string::npos;
  }));

  // An unbound claim (its class has no provisioner here): an error until it is bound.
  a_->Create(
      "storage.k8s.io", "storageclasses", "",
      R"({"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"manual"},)"
      R"("provisioner":"kubernetes.io/no-provisioner"})");
  a_->Claim("default", "unbound", "", false, /*wait=*/false, "manual");
  a_->Snapshot("default", "unbound", "unbound");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr v = a_->Get(kVolumeSnapshotsGr, "default", "unbound");
    return v != nullptr &&
           GetString(v->object, {"status", "error", "message"}).find("not yet bound") !=
               std::string::npos;
  }));

  // The missing claim appears: the snapshot is taken after all, and its error goes away.
  ASSERT_FALSE(a_->Claim("default", "nope").empty());
  ObjectPtr ready = a_->WaitReady("default", "missing");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(Find(ready->object, {"status", "error"}), nullptr);
}

TEST_F(SnapshotsTest, ExecSeesVolumeMountsUnderKubesimRoot) {
  StartExec();
  ASSERT_FALSE(a_->Claim("default", "data").empty());
  a_->Create(
      "", "configmaps", "default",
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"k":"from-configmap"}})");
  a_->Create("", "pods", "default",
             R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"app"},"spec":{
      "containers":[
        {"name":"app","image":"busybox","volumeMounts":[
           {"name":"data","mountPath":"/data"},
           {"name":"data","mountPath":"/data/nested"},
           {"name":"data","mountPath":"/var/lib/sub","subPath":"inner"},
           {"name":"cfg","mountPath":"/etc/cfg"}]},
        {"name":"side","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/mnt/shared"}]}],
      "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data"}},
                 {"name":"cfg","configMap":{"name":"cfg"}}]}})");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr p = a_->Get("pods", "default", "app");
    return p != nullptr && GetString(p->object, {"status", "phase"}) == "Running";
  }));
  const std::string pv = GetString(a_->Get("persistentvolumeclaims", "default", "data")->object,
                                   {"spec", "volumeName"});
  auto out =
      Exec("default", "app",
           {"/bin/sh", "-c",
            "echo x > \"$KUBESIM_ROOT/data/marker\" && echo y > \"$KUBESIM_ROOT/var/lib/sub/f\" && "
            "cat \"$KUBESIM_ROOT/etc/cfg/k\" && echo && echo \"$KUBESIM_ROOT\""});
  const std::string uid = MetaString(a_->Get("pods", "default", "app")->object, "uid");
  EXPECT_EQ(out[1], "from-configmap\n" +
                        (a_->data_dir / "kubelet/pods" / uid / "containers/app").string() + "\n")
      << out[2];
  EXPECT_EQ(ReadFile(a_->data_dir / "volumes" / pv / "marker"), "x\n");
  EXPECT_EQ(ReadFile(a_->data_dir / "volumes" / pv / "inner" / "f"), "y\n");
  // The nested mount was not linked into the volume.
  EXPECT_FALSE(fs::exists(fs::symlink_status(a_->data_dir / "volumes" / pv / "nested")));
  // The other container sees the same volume at its own path.
  auto side =
      Exec("default", "app", {"/bin/sh", "-c", "cat \"$KUBESIM_ROOT/mnt/shared/marker\""}, "side");
  EXPECT_EQ(side[1], "x\n") << side[2];

  // A mount path with ".." keeps the pod from starting.
  a_->Create("", "pods", "default",
             R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"escape"},"spec":{
      "containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/../../etc"}]}],
      "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data"}}]}})");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr p = a_->Get("pods", "default", "escape");
    return p != nullptr &&
           GetString(p->object, {"status", "message"}).find("..") != std::string::npos;
  }));
  EXPECT_EQ(GetString(a_->Get("pods", "default", "escape")->object, {"status", "phase"}),
            "Pending");
}

}  // namespace
}  // namespace kubesim::snapshots
