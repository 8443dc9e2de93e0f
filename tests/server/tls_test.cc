// TLS and mutual TLS on the gRPC port, with certificates made by openssl at
// test time: a TLS server refuses plaintext and clients that do not trust
// it; a mutual-TLS server refuses clients without a certificate from its CA;
// the command-line tools take the same files; bad TLS flags stop the server
// with a message that names them.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client_tls.h"
#include "client/recserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using client::ClientOptions;
using client::ClientTlsFromFiles;
using client::ClientTlsOptions;
using client::RecommenderClient;
using client::ServingStatus;
using testing::HasSubstr;

constexpr char kOpenssl[] = "/usr/bin/openssl";

// Runs openssl; fails the test with its output otherwise.
void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kOpenssl};
  argv.insert(argv.end(), args.begin(), args.end());
  const testutil::CommandResult r = testutil::RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.out;
}

// A CA, and certificates it signs: a server one valid for 127.0.0.1 and
// localhost, and a client one; plus a second CA with its own client.
class Certificates {
 public:
  explicit Certificates(const testutil::TempDir& dir) : dir_(dir) {
    MakeCa("ca");
    MakeCa("rogue-ca");
    Sign("server", "ca",
         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\n");
    Sign("client", "ca", "extendedKeyUsage=clientAuth\n");
    Sign("rogue-client", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  }
  std::string Path(const std::string& name) const { return dir_.Path(name); }
  std::string Pem(const std::string& name) const {
    return testutil::ReadFile(dir_.Path(name));
  }

 private:
  void MakeCa(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             Path(name + ".key"), "-out", Path(name + ".pem"), "-days", "2",
             "-subj", "/CN=recserve test " + name});
  }
  void Sign(const std::string& name, const std::string& ca,
            const std::string& extensions) {
    testutil::WriteFile(Path(name + ".ext"),
                        "basicConstraints=CA:FALSE\n" + extensions);
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", Path(name + ".key"), "-out",
             Path(name + ".csr"), "-subj", "/CN=" + name});
    Openssl({"x509", "-req", "-in", Path(name + ".csr"), "-CA",
             Path(ca + ".pem"), "-CAkey", Path(ca + ".key"), "-CAcreateserial",
             "-out", Path(name + ".pem"), "-days", "2", "-extfile",
             Path(name + ".ext")});
  }
  const testutil::TempDir& dir_;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testutil::TempDir();
    certs_ = new Certificates(*dir_);
    testutil::PublishTinySnapshot(dir_->Path("snapshots"), {});
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete dir_;
  }

  // A server with the given TLS settings, serving once it answers SERVING
  // to a client that trusts it (and presents `probe_tls`'s certificate).
  void Start(const TlsServerOptions& tls, const ClientTlsOptions& probe_tls) {
    ServerOptions o;
    o.snapshot_dir = dir_->Path("snapshots");
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    o.poll_interval = absl::Milliseconds(50);
    o.shutdown_grace = absl::Seconds(2);
    o.tls = tls;
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(testutil::WaitFor(
        [&] {
          return Health(probe_tls).value_or(ServingStatus::kUnknown) ==
                 ServingStatus::kServing;
        },
        absl::Seconds(30)));
  }

  // Health of the server through a client with `tls`; a short deadline, as
  // a refused handshake shows as UNAVAILABLE only when it runs out.
  absl::StatusOr<ServingStatus> Health(const ClientTlsOptions& tls) const {
    ClientOptions options;
    options.deadline = absl::Seconds(2);
    options.tls = tls;
    const RecommenderClient client(absl::StrCat("127.0.0.1:", server_->port()),
                                   options);
    return client.Health();
  }

  static ClientTlsOptions Trusting(const std::string& ca) {
    ClientTlsOptions tls;
    tls.enabled = true;
    tls.root_certs = certs_->Pem(ca + ".pem");
    return tls;
  }
  static ClientTlsOptions WithCertificate(ClientTlsOptions tls,
                                          const std::string& name) {
    tls.cert_chain = certs_->Pem(name + ".pem");
    tls.private_key = certs_->Pem(name + ".key");
    return tls;
  }
  static TlsServerOptions ServerTls(bool mutual) {
    TlsServerOptions tls;
    tls.cert_chain = certs_->Pem("server.pem");
    tls.private_key = certs_->Pem("server.key");
    if (mutual) tls.client_ca = certs_->Pem("ca.pem");
    return tls;
  }

  static testutil::TempDir* dir_;
  static Certificates* certs_;
  std::unique_ptr<RecserveServer> server_;
};

testutil::TempDir* TlsTest::dir_ = nullptr;
Certificates* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, TlsServerServesTrustingClientsAndRefusesPlaintext) {
  ASSERT_NO_FATAL_FAILURE(Start(ServerTls(false), Trusting("ca")));
  EXPECT_EQ(*Health(Trusting("ca")), ServingStatus::kServing);
  // A plaintext client, and one that does not trust the server's CA.
  const absl::StatusOr<ServingStatus> plaintext = Health({});
  EXPECT_EQ(plaintext.status().code(), absl::StatusCode::kUnavailable)
      << plaintext.status();
  EXPECT_EQ(Health(Trusting("rogue-ca")).status().code(),
            absl::StatusCode::kUnavailable);
  // Without mutual TLS a client certificate is not needed, nor checked.
  EXPECT_EQ(*Health(WithCertificate(Trusting("ca"), "rogue-client")),
            ServingStatus::kServing);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromItsCa) {
  const ClientTlsOptions good = WithCertificate(Trusting("ca"), "client");
  ASSERT_NO_FATAL_FAILURE(Start(ServerTls(true), good));
  EXPECT_EQ(*Health(good), ServingStatus::kServing);
  EXPECT_EQ(Health(Trusting("ca")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      Health(WithCertificate(Trusting("ca"), "rogue-client")).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(Health({}).status().code(), absl::StatusCode::kUnavailable);

  // The calls themselves, not only the health check, need the certificate.
  ClientOptions options;
  options.tls = good;
  const RecommenderClient client(absl::StrCat("127.0.0.1:", server_->port()),
                                 options);
  const absl::StatusOr<v1::ModelInfo> info = client.GetModelInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->model_version(), "v000001");
}

TEST_F(TlsTest, CommandLineToolsTakeTheCertificateFiles) {
  const ClientTlsOptions good = WithCertificate(Trusting("ca"), "client");
  ASSERT_NO_FATAL_FAILURE(Start(ServerTls(true), good));
  const std::string server = absl::StrCat("127.0.0.1:", server_->port());
  const testutil::CommandResult ok = testutil::RunCommand(
      {RECSERVE_CLI_BINARY, "--server", server, "--tls_ca",
       certs_->Path("ca.pem"), "--tls_cert", certs_->Path("client.pem"),
       "--tls_key", certs_->Path("client.key"), "health"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("SERVING"));
  const testutil::CommandResult no_cert = testutil::RunCommand(
      {RECSERVE_CLI_BINARY, "--server", server, "--deadline", "2s", "--tls_ca",
       certs_->Path("ca.pem"), "health"});
  EXPECT_EQ(no_cert.exit_code, 1) << no_cert.out;
  const testutil::CommandResult missing =
      testutil::RunCommand({RECSERVE_CLI_BINARY, "--server", server, "--tls_ca",
                            certs_->Path("no-such.pem"), "health"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.out, HasSubstr("no-such.pem"));
}

TEST_F(TlsTest, ServerRefusesBadTlsFlagsNamingThem) {
  struct Case {
    std::vector<std::string> flags;
    int exit_code;
    std::string message;
  };
  const auto path = [](const char* name) { return certs_->Path(name); };
  const std::vector<Case> cases = {
      {{"--tls_cert", path("server.pem")}, 2, "--tls_key"},
      {{"--tls_client_ca", path("ca.pem")}, 2, "--tls_client_ca"},
      {{"--tls_cert", path("server.ext"), "--tls_key", path("server.key")},
       2,
       "server.ext is not PEM"},
      {{"--tls_cert", path("server.pem"), "--tls_key", path("missing.key")},
       2,
       "missing.key"},
      // A key that is not the certificate's: the port cannot open.
      {{"--tls_cert", path("server.pem"), "--tls_key", path("client.key")},
       1,
       "with TLS"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {RECSERVE_SERVER_BINARY,
                                     "--snapshot_dir",
                                     dir_->Path("snapshots"),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--metrics_listen",
                                     ""};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const testutil::CommandResult r = testutil::RunCommand(argv);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.message << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace recserve::server
