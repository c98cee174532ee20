#pragma once

// Test helpers for the kube module: per-test temp dirs and small files.

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace lifeboat::kube::testing {

inline std::filesystem::path MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/kube_test_XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return std::filesystem::path(tmpl);
}

inline void WriteTextFile(const std::filesystem::path& path, const std::string& content,
                          int mode = 0644) {
  std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ::chmod(path.c_str(), mode);
}

inline std::string ReadTextFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace lifeboat::kube::testing
