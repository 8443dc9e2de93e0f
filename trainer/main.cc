// recserve-train: train (the default), generate or import; each command
// and its flags are in its own file (commands.h).

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "trainer/commands.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "learns a rating model, evaluates it and publishes a snapshot.\n"
      "  recserve-train [train] --ratings FILE [--split random:0.1] [--items "
      "FILE] --out DIR\n"
      "  recserve-train [train] --train FILE --test FILE --out DIR\n"
      "  recserve-train generate --users U --items I --ratings N --noise S "
      "--seed S --out FILE\n"
      "  recserve-train import --user_factors F --item_factors F --ratings F "
      "--out DIR");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "train";
  if (args.size() > 2) {
    std::fprintf(stderr, "recserve-train: unexpected argument '%s'\n", args[2]);
    return 2;
  }
  const std::map<std::string, absl::Status (*)()> commands = {
      {"train", recserve::RunTrain},
      {"generate", recserve::RunGenerate},
      {"import", recserve::RunImport}};
  const auto it = commands.find(command);
  if (it == commands.end()) {
    std::fprintf(stderr,
                 "recserve-train: unknown command '%s' (train, generate or "
                 "import)\n",
                 command.c_str());
    return 2;
  }
  const absl::Status status = it->second();
  if (!status.ok()) {
    std::fprintf(stderr, "recserve-train: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
