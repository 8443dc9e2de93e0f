// recserve-cli: asks a recserve-server for recommendations from the shell.
//   recserve-cli recommend --user 42 -n 10
//   recserve-cli --server host:50051 --json similar --item 50 -k 5
//   recserve-cli recommend --user new --recent 50,172:5 --include_labels Drama
// Exit codes: 0 success, 1 an RPC error (or health not SERVING), 2 a usage
// error.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/interaction_list.h"
#include "client/output_format.h"
#include "client/recserve_client.h"

ABSL_FLAG(std::string, server, "localhost:50051",
          "The server to ask, host:port.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5),
          "How long a call may take, e.g. 500ms or 5s.");
ABSL_FLAG(bool, json, false, "Print one JSON object per call, not tables.");
ABSL_FLAG(bool, tls, false,
          "Connect with TLS (implied by --tls_ca or --tls_cert); the "
          "system's CA roots unless --tls_ca.");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates to trust.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for servers with mutual TLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert.");
ABSL_FLAG(std::string, user, "", "recommend, predict: the user id.");
ABSL_FLAG(std::string, item, "", "similar, predict: the item id.");
ABSL_FLAG(std::vector<std::string>, items, {},
          "similar: several seed items, comma-separated (with or instead of "
          "--item).");
ABSL_FLAG(int32_t, n, 10, "recommend: how many items.");
ABSL_FLAG(int32_t, k, 10, "similar: how many items.");
ABSL_FLAG(std::vector<std::string>, exclude, {},
          "recommend: item ids never to return, comma-separated.");
ABSL_FLAG(bool, include_seen, false,
          "recommend: allow items the user rated in training.");
ABSL_FLAG(bool, exact, false,
          "recommend: brute-force retrieval instead of HNSW.");
ABSL_FLAG(int32_t, candidates, 0,
          "recommend: candidate pool size; 0 = the snapshot's.");
ABSL_FLAG(int32_t, ef, 0, "recommend: HNSW search breadth; 0 = the server's.");
ABSL_FLAG(std::string, recent, "",
          "recommend, predict: the user's recent interactions to fold in, "
          "oldest first, comma-separated item[:rating[:weight]], e.g. "
          "50,172:5,181:4:2, "
          "or for snapshots trained on events item@event[*weight], e.g. "
          "50@view,172@purchase,181@view*3,9@dislike.");
ABSL_FLAG(std::vector<std::string>, include_labels, {},
          "recommend, similar: only items with one of these labels.");
ABSL_FLAG(std::vector<std::string>, exclude_labels, {},
          "recommend, similar: no items with any of these labels.");
ABSL_FLAG(std::vector<std::string>, filter_items, {},
          "recommend, similar: only these item ids.");
ABSL_FLAG(bool, explain, false, "recommend: explain each item's scores.");
ABSL_FLAG(int32_t, cold_items, 0,
          "recommend: reserve up to this many of the n slots for cold items "
          "(new items mapped from their metadata), 0 to n.");
ABSL_FLAG(std::string, service, "",
          "health: the service to check; empty = the whole server.");

namespace recserve::client {
namespace {

constexpr char kUsage[] =
    R"(recserve-cli: a command-line client of recserve-server.

Usage: recserve-cli [--server host:port] [--deadline 5s] [--json] COMMAND [flags]

Commands:
  recommend --user U [-n 10] [--exclude a,b] [--include_seen] [--exact]
            [--candidates C] [--ef E] [--recent 50,172:5 | 50@view,...]
            [--include_labels L1,L2] [--exclude_labels L3]
            [--filter_items a,b] [--explain] [--cold_items M]
                          the top n items for a user; --cold_items reserves
                          up to M slots for cold items (new items placed
                          from their metadata, marked "cold")
  similar --item I | --items I1,I2 [-k 10] [filter flags as above]
                          the k items most similar to an item (or several)
  predict --user U --item I [--recent ...]
                          the predicted rating of an item for a user
  info                    the model the server is serving (feedback
                          kind, event types and weights, ...)
  health [--service S]    the server's gRPC health (exit 1 unless SERVING)

--recent lists interactions since the snapshot was trained, folded into the
user's vectors, comma-separated:
  item[:rating[:weight]]  snapshots trained on ratings ("info" says feedback
                          explicit): rating 0 or left out = unrated, weight =
                          confidence multiplier (default 1), e.g. 172:5,50
  item@event[*weight]     snapshots trained on events (feedback implicit):
                          an event type "info" lists, weight = how many
                          times (default 1), e.g. 172@purchase,50@view*3,
                          9@dislike; predict is not available there.

Global flags:
  --server host:port      the server (default localhost:50051)
  --deadline D            per call, e.g. 500ms or 5s (default 5s)
  --json                  one JSON object per call instead of tables
  --tls, --tls_ca F       TLS, trusting the system's roots or the CAs in F
  --tls_cert F --tls_key K  a client certificate, for mutual TLS

Flags take "--flag value" or "--flag=value"; booleans "--flag" or "--noflag".
Exit codes: 0 success, 1 RPC error (or health not SERVING), 2 usage error.
)";

int UsageError(absl::string_view message) {
  std::fprintf(stderr,
               "recserve-cli: %s\nRun 'recserve-cli --help' for usage.\n",
               std::string(message).c_str());
  return 2;
}

int RpcError(const absl::Status& status) {
  std::fprintf(stderr, "recserve-cli: %s\n",
               std::string(status.message()).c_str());
  return 1;
}

struct CommandLine {
  bool help = false;
  std::vector<std::string> positional;
};

// Sets the flags named in argv and collects the other arguments. Unlike
// absl::ParseCommandLine, which exits with 1 on a bad flag, this reports
// unknown flags and bad values as errors, so that they exit with 2.
absl::StatusOr<CommandLine> ParseArgs(int argc, char** argv) {
  CommandLine result;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) result.positional.push_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      result.positional.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    if (name == "help" || name == "helpfull" || name == "h") {
      result.help = true;
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string value;
    if (flag == nullptr && eq == absl::string_view::npos &&
        absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag == nullptr || !flag->IsOfType<bool>()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", name));
      }
      value = "false";
    } else if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    } else if (eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          error.empty()
              ? absl::StrCat("bad value '", value, "' for --", flag->Name())
              : error);
    }
  }
  return result;
}

// --include_labels, --exclude_labels and --filter_items; empty entries (from
// a trailing comma) are dropped.
v1::ItemFilter FilterFromFlags() {
  v1::ItemFilter filter;
  for (const std::string& label : absl::GetFlag(FLAGS_include_labels)) {
    if (!label.empty()) filter.add_include_labels(label);
  }
  for (const std::string& label : absl::GetFlag(FLAGS_exclude_labels)) {
    if (!label.empty()) filter.add_exclude_labels(label);
  }
  for (const std::string& item : absl::GetFlag(FLAGS_filter_items)) {
    if (!item.empty()) filter.add_item_ids(item);
  }
  return filter;
}

// Prints `text`, or `json` on one line with --json.
void Print(const std::string& text, const nlohmann::json& json) {
  const std::string out = absl::GetFlag(FLAGS_json) ? JsonLine(json) : text;
  std::fwrite(out.data(), 1, out.size(), stdout);
}

int Recommend(const RecommenderClient& client) {
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) return UsageError("recommend needs --user");
  v1::RecommendRequest request;
  request.set_user_id(user);
  request.set_n(absl::GetFlag(FLAGS_n));
  for (const std::string& item : absl::GetFlag(FLAGS_exclude)) {
    if (!item.empty()) request.add_exclude_item_ids(item);
  }
  request.set_include_seen(absl::GetFlag(FLAGS_include_seen));
  request.set_exact(absl::GetFlag(FLAGS_exact));
  request.set_candidates(absl::GetFlag(FLAGS_candidates));
  request.set_ef(absl::GetFlag(FLAGS_ef));
  absl::StatusOr<std::vector<v1::Interaction>> recent =
      ParseInteractions(absl::GetFlag(FLAGS_recent));
  if (!recent.ok()) return UsageError(recent.status().message());
  for (v1::Interaction& r : *recent) *request.add_recent() = std::move(r);
  *request.mutable_filter() = FilterFromFlags();
  request.set_explain(absl::GetFlag(FLAGS_explain));
  request.set_cold_items(absl::GetFlag(FLAGS_cold_items));
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  if (!response.ok()) return RpcError(response.status());
  Print(FormatRecommendations(*response, user), ToJson(*response));
  return 0;
}

int Similar(const RecommenderClient& client) {
  std::vector<std::string> seeds;
  if (const std::string item = absl::GetFlag(FLAGS_item); !item.empty()) {
    seeds.push_back(item);
  }
  for (const std::string& item : absl::GetFlag(FLAGS_items)) {
    if (!item.empty()) seeds.push_back(item);
  }
  if (seeds.empty()) return UsageError("similar needs --item or --items");
  v1::SimilarItemsRequest request;
  // --item goes in item_id, which servers without several seeds know too.
  request.set_item_id(absl::GetFlag(FLAGS_item));
  for (const std::string& item : absl::GetFlag(FLAGS_items)) {
    if (!item.empty()) request.add_item_ids(item);
  }
  request.set_k(absl::GetFlag(FLAGS_k));
  *request.mutable_filter() = FilterFromFlags();
  absl::StatusOr<v1::SimilarItemsResponse> response =
      client.SimilarItems(request);
  if (!response.ok()) return RpcError(response.status());
  Print(FormatSimilarItems(*response, seeds), ToJson(*response));
  return 0;
}

int Predict(const RecommenderClient& client) {
  const std::string user = absl::GetFlag(FLAGS_user);
  const std::string item = absl::GetFlag(FLAGS_item);
  if (user.empty() && item.empty()) {
    return UsageError("predict needs --user and --item");
  }
  if (user.empty()) return UsageError("predict needs --user");
  if (item.empty()) return UsageError("predict needs --item");
  v1::PredictRatingRequest request;
  request.set_user_id(user);
  request.set_item_id(item);
  absl::StatusOr<std::vector<v1::Interaction>> recent =
      ParseInteractions(absl::GetFlag(FLAGS_recent));
  if (!recent.ok()) return UsageError(recent.status().message());
  for (v1::Interaction& r : *recent) *request.add_recent() = std::move(r);
  absl::StatusOr<v1::PredictRatingResponse> response =
      client.PredictRating(request);
  if (!response.ok()) return RpcError(response.status());
  Print(FormatPrediction(*response, user, item), ToJson(*response));
  return 0;
}

int Info(const RecommenderClient& client) {
  absl::StatusOr<v1::ModelInfo> info = client.GetModelInfo();
  if (!info.ok()) return RpcError(info.status());
  Print(FormatModelInfo(*info), ToJson(*info));
  return 0;
}

int Health(const RecommenderClient& client) {
  absl::StatusOr<ServingStatus> status =
      client.Health(absl::GetFlag(FLAGS_service));
  if (!status.ok()) return RpcError(status.status());
  Print(FormatHealth(*status, client.target()), HealthToJson(*status));
  return *status == ServingStatus::kServing ? 0 : 1;
}

int Run(int argc, char** argv) {
  absl::StatusOr<CommandLine> args = ParseArgs(argc, argv);
  if (!args.ok()) return UsageError(args.status().message());
  if (args->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args->positional.empty()) {
    return UsageError(
        "missing command (recommend, similar, predict, info or health)");
  }
  if (args->positional.size() > 1) {
    return UsageError(
        absl::StrCat("unexpected argument '", args->positional[1], "'"));
  }
  const std::string& command = args->positional[0];
  using Handler = int (*)(const RecommenderClient&);
  Handler handler = nullptr;
  if (command == "recommend") {
    handler = Recommend;
  } else if (command == "similar") {
    handler = Similar;
  } else if (command == "predict") {
    handler = Predict;
  } else if (command == "info") {
    handler = Info;
  } else if (command == "health") {
    handler = Health;
  } else {
    return UsageError(absl::StrCat("unknown command '", command,
                                   "' (recommend, similar, predict, info or "
                                   "health)"));
  }
  ClientOptions options;
  options.deadline = absl::GetFlag(FLAGS_deadline);
  if (options.deadline <= absl::ZeroDuration()) {
    return UsageError("--deadline must be positive");
  }
  absl::StatusOr<ClientTlsOptions> tls =
      ClientTlsFromFiles({.use_tls = absl::GetFlag(FLAGS_tls),
                          .ca_path = absl::GetFlag(FLAGS_tls_ca),
                          .cert_path = absl::GetFlag(FLAGS_tls_cert),
                          .key_path = absl::GetFlag(FLAGS_tls_key)});
  if (!tls.ok()) return UsageError(tls.status().message());
  options.tls = *std::move(tls);
  const std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) return UsageError("--server is empty");
  const RecommenderClient client(server, options);
  return handler(client);
}

}  // namespace
}  // namespace recserve::client

int main(int argc, char** argv) { return recserve::client::Run(argc, argv); }
