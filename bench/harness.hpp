// The measurement steps every kpr-bench harness shares (kpr-bench for
// ClusterIPs, kpr-bench-nodeport for NodePorts): programming every mode
// with a cap, and the interleaved load rounds, each result recorded in the
// run's JSON.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "load_run.hpp"
#include "mode.hpp"

namespace kpr::bench {

struct TargetKind {
    const char* name;
    TargetSet set;
    const char* protocol;
};

// What every harness's main does around its run: refuses without kernel
// privileges (exit 77), installs the SIGINT/SIGTERM handlers, applies the
// niceness (inherited by every child: servers, load clients, agent,
// loaders), and turns an exception into a message naming the program
// (exit 1, or 130 when interrupted).
int guarded_bench_main(std::string_view program, int nice, const std::function<int()>& run);

// The one-minute load average (/proc/loadavg).
double load_average();

// What every harness's run is asked to do.
struct RunSettings {
    bool smoke = false;
    std::vector<int> sizes;
    int repetitions = 10;
    int cap_seconds = 150;
    int nice = 0;
    LoadSettings load;
};

// The start of a run's JSON: "meta" (date, kernel, CPUs, load average at
// the start, iptables and nft versions, the settings) and "modes".
nlohmann::json run_json(const RunSettings& settings, const std::vector<std::unique_ptr<Mode>>& modes);

// Writes the run's JSON; throws naming the file when it cannot.
void write_json(const std::filesystem::path& file, const nlohmann::json& results);

// A scratch directory <tmp>/kprt-<pid>-<tag> for rule files and targets,
// removed with everything in it when the run ends, however it ends.
class ScratchDir {
  public:
    explicit ScratchDir(std::string_view tag);
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir();
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

nlohmann::json timing_json(const Timing& t);
nlohmann::json load_json(const LoadResult& r);

// Programs every mode not yet retired into size["program"] and returns
// those that made it; a mode whose programming is cut off (past cap_seconds)
// is retired for good, with the reason in size["skipped"].
std::vector<Mode*> program_modes(const std::vector<std::unique_ptr<Mode>>& modes, const BenchCluster& cluster,
                                 int cap_seconds, std::map<std::string, std::string>& retired,
                                 nlohmann::json& size);

// The load rounds: each of `repetitions` rounds runs every target kind
// through every active mode, the modes' order rotating with the round and
// the kind, so a burst of other work lands on every mode alike. Results go
// to size["traffic"][kind][mode], one entry per round.
void run_traffic(std::span<const TargetKind> kinds, int repetitions, const LoadSettings& load,
                 const std::vector<Mode*>& active, const BenchCluster& cluster,
                 const std::filesystem::path& scratch, nlohmann::json& size);

} // namespace kpr::bench
