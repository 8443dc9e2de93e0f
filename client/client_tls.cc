#include "client/client_tls.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"

namespace recserve::client {
namespace {

absl::StatusOr<std::string> ReadPem(const char* what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read ", path));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  if (contents.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", path, " is not PEM"));
  }
  return contents.str();
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientTlsOptions& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.root_certs;
  ssl.pem_cert_chain = tls.cert_chain;
  ssl.pem_private_key = tls.private_key;
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<ClientTlsOptions> ClientTlsFromFiles(
    const ClientTlsFiles& files) {
  const std::string& ca_path = files.ca_path;
  const std::string& cert_path = files.cert_path;
  const std::string& key_path = files.key_path;
  ClientTlsOptions tls;
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  tls.enabled = files.use_tls || !ca_path.empty() || !cert_path.empty();
  if (!ca_path.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("--tls_ca", ca_path);
    if (!ca.ok()) return ca.status();
    tls.root_certs = *std::move(ca);
  }
  if (!cert_path.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("--tls_cert", cert_path);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("--tls_key", key_path);
    if (!key.ok()) return key.status();
    tls.cert_chain = *std::move(cert);
    tls.private_key = *std::move(key);
  }
  return tls;
}

}  // namespace recserve::client
