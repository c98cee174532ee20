// Other tools read our archives (GNU gzip + tar, Python's tarfile, as Velero's Go readers
// would), and we read theirs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/archive/writer.h"
#include "src/archive/hostile_archives.h"

namespace lifeboat::archive {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kPython = "/usr/bin/python3";

bool Have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command; its stdout, or nullopt when it exits non-zero.
std::optional<std::string> Shell(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) return std::nullopt;
  return out;
}

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lifeboat-interop-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    long_path_ = "resources/" + std::string(130, 'g') + ".example.com/namespaces/ns/" +
                 std::string(110, 'n') + ".json";
    files_ = {{VersionPath(), VersionFileContents()},
              {ItemPath("pods", "shop", "web"), "{\"kind\":\"Pod\"}"},
              {PreferredVersionItemPath("pods", "v1", "shop", "web"), "{\"kind\":\"Pod\"}"},
              {ItemPath("clusterroles.rbac.authorization.k8s.io", "", "system:x"), "{}"},
              {long_path_, std::string(300000, 'z')}};
    std::string gz;
    auto sink = StringSink(&gz);
    WriterOptions options;
    options.member_bytes = 4096;  // many members
    options.threads = 3;
    options.compressor = compressor();
    auto writer = ArchiveWriter::Create(sink.get(), options);
    ASSERT_TRUE(writer.ok());
    for (const auto& [p, d] : files_) ASSERT_TRUE((*writer)->Add(p, d).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    ASSERT_GT(testing::CountGzipMembers(gz), 10);
    archive_ = dir_ / "backup.tar.gz";
    ASSERT_TRUE(WriteFileAtomically(archive_, gz).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  virtual Compressor compressor() const { return Compressor::kLibdeflate; }
  void GnuGzipAndTar();
  void PythonTarfile();

  fs::path dir_, archive_;
  std::string long_path_;
  std::vector<std::pair<std::string, std::string>> files_;
};

// The same archive compressed with the fast compressor (ISA-L's igzip when built with it).
class InteropFastTest : public InteropTest {
 protected:
  Compressor compressor() const override { return Compressor::kFastest; }
};

TEST_F(InteropTest, GnuGzipAndTarListAndExtract) { GnuGzipAndTar(); }
TEST_F(InteropFastTest, GnuGzipAndTarListAndExtract) { GnuGzipAndTar(); }
TEST_F(InteropTest, PythonTarfileReadsIt) { PythonTarfile(); }
TEST_F(InteropFastTest, PythonTarfileReadsIt) { PythonTarfile(); }

void InteropTest::GnuGzipAndTar() {
  if (!Have("gzip") || !Have("tar")) GTEST_SKIP() << "GNU gzip/tar not installed";
  auto listing = Shell("gzip -dc '" + archive_.string() + "' | tar -tvf -");
  ASSERT_TRUE(listing.has_value());
  for (const auto& [path, data] : files_) EXPECT_THAT(*listing, HasSubstr(path));
  EXPECT_THAT(*listing, HasSubstr("-rwxr-xr-x 0/0"));
  fs::create_directory(dir_ / "x");
  ASSERT_TRUE(Shell("tar -xzf '" + archive_.string() + "' -C '" + (dir_ / "x").string() + "'"));
  EXPECT_EQ(fs::file_size(dir_ / "x" / long_path_), 300000u);
  EXPECT_EQ(*ReadFile(dir_ / "x" / "metadata/version"), "1.1.0\n");
}

void InteropTest::PythonTarfile() {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " not installed";
  std::string script =
      "import sys, tarfile\n"
      "with tarfile.open(sys.argv[1], 'r:gz') as t:\n"
      "    for m in t:\n"
      "        assert m.isreg(), m.name\n"
      "        print(m.name, m.size, oct(m.mode), m.uid, m.gid, len(t.extractfile(m).read()))\n";
  fs::path py = dir_ / "list.py";
  ASSERT_TRUE(WriteFileAtomically(py, script).ok());
  auto out = Shell(std::string(kPython) + " '" + py.string() + "' '" + archive_.string() + "'");
  ASSERT_TRUE(out.has_value());
  for (const auto& [path, data] : files_) {
    std::string size = std::to_string(data.size());
    EXPECT_THAT(*out, HasSubstr(path + " " + size + " 0o755 0 0 " + size));
  }
}

// Reads an archive another tool made; its entries as path -> data.
std::map<std::string, std::string> ReadBack(const fs::path& file) {
  auto bytes = ReadFile(file);
  EXPECT_TRUE(bytes.ok());
  ViewSource source(*bytes);
  auto reader = ArchiveReader::Open(&source);
  std::map<std::string, std::string> out;
  while (true) {
    auto e = (*reader)->Next();
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok() || !e->has_value()) break;
    out[(*e)->path] = (*e)->data;
  }
  return out;
}

TEST_F(InteropTest, ReadsArchivesMadeByGnuTarAndPython) {
  fs::path src = dir_ / "src";
  fs::create_directories(src / "resources/pods/namespaces/a");
  ASSERT_TRUE(WriteFileAtomically(src / "resources/pods/namespaces/a/p.json", "{}").ok());
  std::string deep =
      "resources/" + std::string(150, 'd') + "/cluster/" + std::string(120, 'e') + ".json";
  fs::create_directories((src / deep).parent_path());
  ASSERT_TRUE(WriteFileAtomically(src / deep, "deep").ok());
  if (Have("tar") && Have("gzip")) {
    for (std::string format : {"gnu", "posix", "ustar"}) {
      if (format == "ustar") deep.clear();  // ustar cannot hold the deep name
      fs::path out = dir_ / (format + ".tar.gz");
      std::string files = "resources/pods/namespaces/a/p.json" + (deep.empty() ? "" : " " + deep);
      ASSERT_TRUE(Shell("tar --format=" + format + " -czf '" + out.string() + "' -C '" +
                        src.string() + "' " + files));
      auto got = ReadBack(out);
      EXPECT_EQ(got["resources/pods/namespaces/a/p.json"], "{}") << format;
      if (!deep.empty()) {
        EXPECT_EQ(got[deep], "deep") << format;
      }
    }
    // "tar -C dir ." adds "./" directories and prefixes.
    fs::path dot = dir_ / "dot.tar.gz";
    ASSERT_TRUE(
        Shell("tar -czf '" + dot.string() + "' -C '" + src.string() + "' ./resources/pods"));
    EXPECT_EQ(ReadBack(dot)["resources/pods/namespaces/a/p.json"], "{}");
  }
  if (access(kPython, X_OK) == 0) {
    fs::path out = dir_ / "py.tar.gz";
    ASSERT_TRUE(Shell(std::string(kPython) +
                      " -c \"import tarfile,sys; t=tarfile.open(sys.argv[1],"
                      "'w:gz',format=tarfile.PAX_FORMAT); t.add(sys.argv[2], arcname='resources');"
                      " t.close()\" '" +
                      out.string() + "' '" + (src / "resources").string() + "'"));
    EXPECT_EQ(ReadBack(out)["resources/pods/namespaces/a/p.json"], "{}");
  }
}

}  // namespace
}  // namespace lifeboat::archive
