#pragma once

// The cluster's certificates: a CA and a serving certificate kept in a directory, and client
// certificates issued by the CA (CN = user, O = groups, as Kubernetes reads them).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "lifeboat/common/status.h"

namespace kubesim {

struct Pki {
  std::string ca_cert_pem, ca_key_pem, server_cert_pem, server_key_pem;
};

// Loads ca.crt/ca.key/apiserver.crt/apiserver.key from `dir`, creating what is missing (ECDSA
// P-256; CA 10 years, serving certificate 1 year with `server_names` as IP or DNS SANs). The
// serving certificate is re-issued when it does not cover `server_names` or expires within 30
// days. DataLoss when a file exists but does not parse (names the file).
absl::StatusOr<Pki> LoadOrCreatePki(const std::filesystem::path& dir,
                                    const std::vector<std::string>& server_names);

struct ClientCert {
  std::string cert_pem, key_pem;
};
absl::StatusOr<ClientCert> IssueClientCert(const Pki& pki, std::string_view user,
                                           const std::vector<std::string>& groups,
                                           absl::Duration validity);

// Verifies `cert_pem` against the CA (chain and validity); returns (CN, [O...]).
// PermissionDenied when it does not verify.
absl::StatusOr<std::pair<std::string, std::vector<std::string>>> VerifyClientCertificate(
    const Pki& pki, std::string_view cert_pem);

}  // namespace kubesim
