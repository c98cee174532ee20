#pragma once

// Helpers shared by the kube module's configuration sources; not a public interface.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"
#include "lifeboat/kube/config.h"

namespace lifeboat::kube {

// A path from a kubeconfig entry, made absolute against the directory of the file that named
// it (clientcmd's ResolveLocalPaths). Empty stays empty.
std::filesystem::path ResolveAgainstOrigin(const std::string& path,
                                           const std::filesystem::path& origin);

// Reads a file a kubeconfig refers to, with client-go's message:
// "unable to read <what> <path> for <owner> due to <reason>".
StatusOr<std::string> ReadReferencedFile(const std::filesystem::path& path, std::string_view what,
                                         std::string_view owner);

// The files to read, highest precedence first.
std::vector<std::filesystem::path> KubeconfigPrecedence(const KubeconfigOptions& options);

}  // namespace lifeboat::kube
