// kpr-bench-nodeport: NodePort connection rate, netperf TCP_CRR style
// (connect, one request line, one reply line, close), from a client that
// stands outside the cluster, through the node's address and a NodePort,
// to a backend pod; for kpr's external path (kpr_from_netdev) and
// kube-proxy's iptables (nft and legacy back ends) and nftables NodePort
// rules against no load balancer at all (the client
// connecting straight to a backend through the same node: the floor), at
// 10 and 10,000 Services in one run. Each mode's rate is printed as its
// median ratio to the floor's, round by round. See bench/nodeport/README.md.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "kpr_nodeport_mode.hpp"
#include "testbed/debris.hpp"

namespace {

using namespace kpr::bench;
namespace fs = std::filesystem;
using nlohmann::json;

constexpr TargetKind node_port_kinds[] = {
    {"nodeport-last", TargetSet::last_node_port, "tcp"},
    {"nodeport-random", TargetSet::random_node_port, "tcp"},
};

struct Options {
    std::vector<int> sizes{10, 10000};
    int repetitions = 10;
    int cap_seconds = 150;
    LoadSettings load{.parallel = 4, .duration_ms = 250, .warmup_ms = 25, .count = 0};
    fs::path out;
    bool smoke = false;
    int nice = 0;
};

struct Spread {
    double median, low, high; // the median and the interquartile range
};

Spread spread(std::vector<double> v) {
    std::ranges::sort(v);
    const auto at = [&](double q) { return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))]; };
    return {at(0.5), at(0.25), at(0.75)};
}

// Per round, rate(mode) / rate(floor): runs a second apart see the same machine.
std::vector<double> ratios_to(const json& by_mode, const std::string& mode, const std::string& floor) {
    std::vector<double> ratios;
    const auto& runs = by_mode.at(mode);
    const auto& floor_runs = by_mode.at(floor);
    for (std::size_t r = 0; r < runs.size() && r < floor_runs.size(); ++r) {
        const double base = floor_runs[r].at("rate").get<double>();
        if (base > 0)
            ratios.push_back(runs[r].at("rate").get<double>() / base);
    }
    return ratios;
}

void print_ratios(const json& size) {
    fmt::print("  ratio to direct (median [interquartile range] over rounds):\n");
    for (const auto& kind : node_port_kinds) {
        const json& by_mode = size.at("traffic").at(kind.name);
        for (const auto& [mode, runs] : by_mode.items()) {
            if (mode == "direct")
                continue;
            const auto s = spread(ratios_to(by_mode, mode, "direct"));
            fmt::print("  {:16} {:16} {:6.3f}x [{:.3f}-{:.3f}]\n", kind.name, mode, s.median, s.low, s.high);
        }
    }
    std::fflush(stdout);
}

int run(const Options& o) {
    kpr::testbed::sweep_debris();
    const ScratchDir scratch("bench-np");
    const ModeSettings settings{std::chrono::seconds(o.cap_seconds), scratch.path()};
    std::vector<std::unique_ptr<Mode>> modes;
    modes.push_back(make_direct_mode(settings));
    modes.push_back(make_kpr_nodeport_mode(settings, KPR_NODEPORT_TC_OBJECT));
    modes.push_back(make_iptables_mode(settings, "nft"));
    modes.push_back(make_iptables_mode(settings, "legacy"));
    modes.push_back(make_nftables_mode(settings));

    json results = run_json({o.smoke, o.sizes, o.repetitions, o.cap_seconds, o.nice, o.load}, modes);
    std::map<std::string, std::string> retired;
    for (const int n : o.sizes) {
        const BenchCluster cluster(n, true);
        json size{{"services", n}, {"load_average_before", load_average()}};
        fmt::print("== {} services, each with a NodePort\n", n);
        const auto active = program_modes(modes, cluster, o.cap_seconds, retired, size);
        run_traffic(node_port_kinds, o.repetitions, o.load, active, cluster, scratch.path(), size);
        print_ratios(size);
        size["load_average_after"] = load_average();
        results["sizes"].push_back(size);
    }
    results["meta"]["load_average_end"] = load_average();
    fmt::print("load average {:.2f} at the start, {:.2f} at the end\n",
               results["meta"]["load_average_start"].get<double>(), load_average());
    if (!o.out.empty()) {
        write_json(o.out / "nodeport.json", results);
        fmt::print("wrote {}\n", (o.out / "nodeport.json").string());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr-bench-nodeport: NodePort connection rate through kube-proxy's rule layouts, as ratios"};
    Options o;
    app.add_option("--sizes", o.sizes, "numbers of Services, each with a NodePort")
        ->delimiter(',')
        ->check(CLI::Range(1, max_node_port_services));
    app.add_option("--repetitions", o.repetitions, "load runs per mode, size and target")->check(CLI::Range(1, 100));
    app.add_option("--cap", o.cap_seconds, "seconds a programming step may take before it is cut off")
        ->check(CLI::Range(1, 3600));
    app.add_option("--parallel", o.load.parallel, "exchanges in flight per load run")->check(CLI::Range(1, 256));
    app.add_option("--duration-ms", o.load.duration_ms, "measured time per load run");
    app.add_option("--warmup-ms", o.load.warmup_ms, "unmeasured time before it");
    app.add_option("--out", o.out, "directory for nodeport.json (every measurement)");
    app.add_flag("--smoke", o.smoke, "a quick check: 10 Services, a few hundred exchanges per run");
    app.add_option("--nice", o.nice, "scheduling niceness for the run and everything it starts")
        ->check(CLI::Range(-20, 19));
    CLI11_PARSE(app, argc, argv);
    if (o.smoke) {
        o.sizes = {10};
        o.repetitions = 1;
        o.cap_seconds = 30;
        o.load = {.parallel = 4, .duration_ms = 5000, .warmup_ms = 0, .count = 300};
    }
    return guarded_bench_main("kpr-bench-nodeport", o.nice, [&] { return run(o); });
}
