// kpr-bench: Service load balancing by kpr against kube-proxy's iptables
// (nft and legacy back ends) and nftables rule layouts, and against no load
// balancer at all, side by side in one run on this machine. For each size N
// it programs every mode from scratch (timed, cut off at a cap), then runs
// TCP connect-request-response-close and UDP request-response load through
// each in short runs, alternating modes (the order rotating every round), then
// applies one endpoint change several times (timed). Results go to
// <out>/results.json; bench/report.py turns them into a Markdown table and
// plots. See docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_paths.hpp"
#include "harness.hpp"
#include "testbed/command.hpp"
#include "testbed/debris.hpp"

namespace {

using namespace kpr::bench;
namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
    std::vector<int> sizes{10, 100, 1000, 10000, 30000};
    int repetitions = 10;
    int changes = 3;
    int change_budget_seconds = 30;
    int cap_seconds = 150;
    LoadSettings load{.parallel = 4, .duration_ms = 250, .warmup_ms = 25, .count = 0};
    fs::path out = "bench/results";
    bool smoke = false;
    bool report = true;
    int nice = 0;
};

constexpr TargetKind target_kinds[] = {
    {"tcp-last", TargetSet::last_tcp, "tcp"},
    {"tcp-random", TargetSet::random_tcp, "tcp"},
    {"udp-last", TargetSet::last_udp, "udp"},
};

// The endpoint change, back and forth. A mode repeats the change only while its changes at this size have
    // taken less than the budget: at 30,000 Services one iptables-nft
    // partial restore takes over a minute, and one sample of that says enough.
void change_endpoints(const Options& o, const std::vector<Mode*>& active, const BenchCluster& cluster,
                      json& size) {
    BenchCluster state = cluster;
    std::map<const Mode*, double> change_seconds;
    for (int c = 0; c < o.changes; ++c) {
        BenchCluster next = state;
        next.last_endpoint_moved = !state.last_endpoint_moved;
        for (std::size_t m = 0; m < active.size(); ++m) {
            Mode* mode = active[(m + static_cast<std::size_t>(c)) % active.size()];
            if (change_seconds[mode] >= o.change_budget_seconds)
                continue;
            for (const auto& [how, t] : mode->change_endpoint(state, next, c == 0)) {
                change_seconds[mode] += t.seconds;
                size["endpoint_change"][mode->name()][how].push_back(timing_json(t));
                fmt::print("  change   {:16} {:16} {:9.4f} s{}\n", mode->name(), how, t.seconds,
                           t.cut_off ? " (cut off)" : "");
                std::fflush(stdout);
            }
        }
        state = next;
    }
}

json measure_size(const Options& o, const std::vector<std::unique_ptr<Mode>>& modes, int n,
                  std::map<std::string, std::string>& retired, const fs::path& scratch) {
    const BenchCluster cluster(n);
    json size{{"services", n}, {"load_average_before", load_average()}};
    fmt::print("== {} services\n", n);
    const auto active = program_modes(modes, cluster, o.cap_seconds, retired, size);
    run_traffic(target_kinds, o.repetitions, o.load, active, cluster, scratch, size);
    change_endpoints(o, active, cluster, size);
    size["load_average_after"] = load_average();
    return size;
}

int run(const Options& o) {
    kpr::testbed::sweep_debris();
    const ScratchDir scratch_dir("bench");
    const fs::path& scratch = scratch_dir.path();

    const ModeSettings settings{std::chrono::seconds(o.cap_seconds), scratch};
    std::vector<std::unique_ptr<Mode>> modes;
    modes.push_back(make_direct_mode(settings));
    modes.push_back(make_kpr_mode(settings, fs::path(bench_datapath_object)));
    modes.push_back(make_iptables_mode(settings, "nft"));
    modes.push_back(make_iptables_mode(settings, "legacy"));
    modes.push_back(make_nftables_mode(settings));

    json results = run_json({o.smoke, o.sizes, o.repetitions, o.cap_seconds, o.nice, o.load}, modes);
    results["meta"]["endpoint_changes"] = o.changes;
    results["meta"]["change_budget_seconds"] = o.change_budget_seconds;

    std::map<std::string, std::string> retired;
    const auto t0 = std::chrono::steady_clock::now();
    for (const int n : o.sizes)
        results["sizes"].push_back(measure_size(o, modes, n, retired, scratch));
    results["meta"]["load_average_end"] = load_average();
    results["meta"]["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    write_json(o.out / "results.json", results);
    fmt::print("wrote {}\n", (o.out / "results.json").string());
    if (o.report)
        kpr::testbed::run({std::string(report_script), (o.out / "results.json").string(), o.out.string()});
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr-bench: kpr against kube-proxy's iptables and nftables layouts and no load balancer"};
    Options o;
    app.add_option("--sizes", o.sizes, "numbers of Services")->delimiter(',')->check(CLI::Range(1, max_services));
    app.add_option("--repetitions", o.repetitions, "load runs per mode, size and target")->check(CLI::Range(1, 100));
    app.add_option("--changes", o.changes, "endpoint changes per mode and size")->check(CLI::Range(0, 100));
    app.add_option("--change-budget", o.change_budget_seconds,
                   "seconds of endpoint changes after which a mode stops repeating them at a size");
    app.add_option("--cap", o.cap_seconds, "seconds a programming step may take before it is cut off")
        ->check(CLI::Range(1, 3600));
    app.add_option("--parallel", o.load.parallel, "exchanges in flight per load run")->check(CLI::Range(1, 256));
    app.add_option("--duration-ms", o.load.duration_ms, "measured time per load run");
    app.add_option("--warmup-ms", o.load.warmup_ms, "unmeasured time before it");
    app.add_option("--count", o.load.count, "exchanges per load run (0: the duration decides)");
    app.add_option("--out", o.out, "directory for results.json, results.md and the plots");
    app.add_flag("--smoke", o.smoke, "a quick check: 10 Services, a few hundred exchanges per run");
    app.add_flag("!--no-report", o.report, "write results.json only");
    app.add_option("--nice", o.nice,
                   "scheduling niceness for the run and everything it starts (e.g. -10 on a busy machine)")
        ->check(CLI::Range(-20, 19));
    CLI11_PARSE(app, argc, argv);
    if (o.smoke) {
        o.sizes = {10};
        o.repetitions = 1;
        o.changes = 2;
        o.cap_seconds = 30;
        o.load = {.parallel = 4, .duration_ms = 5000, .warmup_ms = 0, .count = 300};
    }
    return guarded_bench_main("kpr-bench", o.nice, [&] { return run(o); });
}
