// libFuzzer target for ArchiveReader: any input must end in entries, nullopt or an error —
// never a crash, a leak, unbounded memory or an unsafe path. Built by scripts/fuzz-archive.sh.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "src/archive/gzip_members.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat::archive;  // NOLINT
  // Odd first byte: the rest is a tar stream, gzip-compressed here so the fuzzer reaches the
  // tar parser without having to forge CRCs. Otherwise the input is the compressed archive.
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string compressed;
  if (!input.empty() && (input[0] & 1)) {
    compressed = CompressGzipMember(input.substr(1), 1).value();
    input = compressed;
  }
  lifeboat::ViewSource source(input);
  ReaderLimits limits;
  limits.max_entry_bytes = 1 << 20;
  limits.max_total_bytes = 16 << 20;
  limits.max_entries = 10000;
  auto reader = ArchiveReader::Open(&source, limits);
  if (!reader.ok()) std::abort();
  while (true) {
    auto entry = (*reader)->Next();
    if (!entry.ok() || !entry->has_value()) break;
    const std::string& path = (*entry)->path;
    // The reader's promise: relative, no "..", no NUL, no backslash.
    if (path.empty() || path[0] == '/' || path.find('\0') != std::string::npos ||
        path.find('\\') != std::string::npos || path == ".." || path.find("../") == 0 ||
        path.find("/../") != std::string::npos ||
        (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0)) {
      std::abort();
    }
    if ((*entry)->data.size() > static_cast<size_t>(limits.max_entry_bytes)) std::abort();
    (void)ParseItemPath(path);
  }
  return 0;
}
