#ifndef RECSERVE_CLIENT_CLIENT_TLS_H_
#define RECSERVE_CLIENT_CLIENT_TLS_H_

// TLS for client connections to recserve-server (--tls_cert on the server;
// mutual TLS when it also has --tls_client_ca).

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ChannelCredentials;
}  // namespace grpc

namespace recserve::client {

// PEM text; `enabled` false means plaintext and the rest is ignored.
struct ClientTlsOptions {
  bool enabled = false;
  // CA certificates the server's certificate must chain to; empty: the
  // system's roots (or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH).
  std::string root_certs;
  // For mutual TLS: this client's certificate (chain) and its key; both or
  // neither.
  std::string cert_chain;
  std::string private_key;
};

// The credentials for grpc::CreateChannel. Thread-safe.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientTlsOptions& tls);

// The TLS settings of the command-line tools: PEM file paths, empty when
// not given.
struct ClientTlsFiles {
  // TLS even when no file is given (the server is verified against the
  // system's roots). Default false.
  bool use_tls = false;
  std::string ca_path;    // CA certificates to verify the server with
  std::string cert_path;  // client certificate (chain), for mutual TLS
  std::string key_path;   // its private key
};

// ClientTlsOptions from PEM files: enabled when use_tls or any path is
// given. Errors: InvalidArgument naming the file when it cannot be read or
// holds no PEM block, or when only one of cert_path and key_path is given.
absl::StatusOr<ClientTlsOptions> ClientTlsFromFiles(
    const ClientTlsFiles& files);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_CLIENT_TLS_H_
