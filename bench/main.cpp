// kpr-bench: Service load balancing by kpr against kube-proxy's iptables
// (nft and legacy back ends) and nftables rule layouts, and against no load
// balancer at all, side by side in one run on this machine. For each size N
// it programs every mode from scratch (timed, cut off at a cap), then runs
// TCP connect-request-response-close and UDP request-response load through
// each in short runs, alternating modes (the order rotating every round), then
// applies one endpoint change several times (timed). Results go to
// <out>/results.json; bench/report.py turns them into a Markdown table and
// plots. See docs/benchmarks.md.
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_paths.hpp"
#include "interruption.hpp"
#include "load_run.hpp"
#include "mode.hpp"
#include "testbed/command.hpp"
#include "testbed/debris.hpp"
#include "testbed/privileges.hpp"

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

struct TargetKind {
    const char* name;
    TargetSet set;
    const char* protocol;
};

constexpr TargetKind target_kinds[] = {
    {"tcp-last", TargetSet::last_tcp, "tcp"},
    {"tcp-random", TargetSet::random_tcp, "tcp"},
    {"udp-last", TargetSet::last_udp, "udp"},
};

double load_average() {
    std::ifstream in("/proc/loadavg");
    double one_minute = 0;
    in >> one_minute;
    return one_minute;
}

std::string first_line(const std::vector<std::string>& argv) {
    try {
        const auto out = kpr::testbed::run(argv);
        return out.substr(0, out.find('\n'));
    } catch (const std::exception& e) {
        return e.what();
    }
}

json timing_json(const Timing& t) {
    json out{{"seconds", t.seconds}, {"cut_off", t.cut_off}};
    if (!t.phases.empty())
        out["phases"] = t.phases;
    return out;
}

json load_json(const LoadResult& r) {
    return {{"completed", r.completed}, {"errors", r.errors},           {"rate", r.rate},
            {"p50_us", r.p50_us},       {"p99_us", r.p99_us},           {"responders", r.responders},
            {"error_counts", r.error_counts}};
}

// Programs every mode not yet retired and returns those that made it; a mode
// whose programming is cut off is retired for good.
std::vector<Mode*> program_modes(const Options& o, const std::vector<std::unique_ptr<Mode>>& modes,
                                 const BenchCluster& cluster, std::map<std::string, std::string>& retired,
                                 json& size) {
    const int n = cluster.services;
    std::vector<Mode*> active;
    for (const auto& mode : modes) {
        if (retired.contains(mode->name())) {
            size["skipped"][mode->name()] = retired[mode->name()];
            continue;
        }
        const Timing t = mode->program(cluster);
        json entry = timing_json(t);
        if (const auto bytes = mode->memory_bytes(); bytes && !t.cut_off)
            entry["memory_bytes"] = *bytes;
        size["program"][mode->name()] = entry;
        fmt::print("  program {:16} {:9.3f} s{}\n", mode->name(), t.seconds, t.cut_off ? " (cut off)" : "");
        std::fflush(stdout);
        if (t.cut_off) {
            retired[mode->name()] = fmt::format("programming {} services took longer than the {} s cap", n,
                                                o.cap_seconds);
            size["skipped"][mode->name()] = retired[mode->name()];
        } else {
            active.push_back(mode.get());
        }
    }
    return active;
}

// The load rounds: each round runs every target kind through every mode,
// the modes' order rotating with the round and the kind.
void run_traffic(const Options& o, const std::vector<Mode*>& active, const BenchCluster& cluster,
                 const fs::path& scratch, json& size) {
    for (const auto& kind : target_kinds)
        for (Mode* mode : active)
            write_targets(scratch / fmt::format("{}-{}.targets", mode->name(), kind.name),
                          mode->targets(cluster, kind.set));
    std::map<const Mode*, LoadClient> clients;
    for (Mode* mode : active)
        clients.emplace(mode, *mode);
    std::uint64_t seed = 1;
    for (int r = 0; r < o.repetitions; ++r)
        for (std::size_t k = 0; k < std::size(target_kinds); ++k) {
            const auto& kind = target_kinds[k];
            std::vector<Mode*> order;
            for (std::size_t m = 0; m < active.size(); ++m)
                order.push_back(active[(m + static_cast<std::size_t>(r) + k) % active.size()]);
            for (Mode* mode : order) {
                const auto result = clients.at(mode).run(
                    scratch / fmt::format("{}-{}.targets", mode->name(), kind.name), kind.protocol, o.load, seed++);
                json entry = load_json(result);
                entry["repetition"] = r;
                size["traffic"][kind.name][mode->name()].push_back(entry);
            }
        }
    for (const auto& kind : target_kinds)
        for (Mode* mode : active) {
            std::vector<double> rates;
            for (const auto& entry : size["traffic"][kind.name][mode->name()])
                rates.push_back(entry["rate"].get<double>());
            if (rates.empty())
                continue;
            std::ranges::sort(rates);
            fmt::print("  {:10} {:16} median {:9.0f}/s over {} runs\n", kind.name, mode->name(),
                       rates[rates.size() / 2], rates.size());
        }
    std::fflush(stdout);
}

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
    const auto active = program_modes(o, modes, cluster, retired, size);
    run_traffic(o, active, cluster, scratch, size);
    change_endpoints(o, active, cluster, size);
    size["load_average_after"] = load_average();
    return size;
}

int run(const Options& o) {
    kpr::testbed::sweep_debris();
    const fs::path scratch = fs::temp_directory_path() / kpr::testbed::test_object_name("bench");
    fs::create_directories(scratch);
    struct RemoveScratch {
        fs::path path;
        ~RemoveScratch() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    } remove_scratch{scratch};

    const ModeSettings settings{std::chrono::seconds(o.cap_seconds), scratch};
    std::vector<std::unique_ptr<Mode>> modes;
    modes.push_back(make_direct_mode(settings));
    modes.push_back(make_kpr_mode(settings, fs::path(bench_datapath_object)));
    modes.push_back(make_iptables_mode(settings, "nft"));
    modes.push_back(make_iptables_mode(settings, "legacy"));
    modes.push_back(make_nftables_mode(settings));

    utsname host{};
    ::uname(&host);
    const auto started = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&started));
    json results{{"meta",
                  {{"date", date},
                   {"kernel", host.release},
                   {"cpus", std::thread::hardware_concurrency()},
                   {"load_average_start", load_average()},
                   {"smoke", o.smoke},
                   {"sizes", o.sizes},
                   {"repetitions", o.repetitions},
                   {"endpoint_changes", o.changes},
                   {"change_budget_seconds", o.change_budget_seconds},
                   {"cap_seconds", o.cap_seconds},
                   {"nice", o.nice},
                   {"endpoints_per_service", endpoints_per_service},
                   {"parallel", o.load.parallel},
                   {"duration_ms", o.load.duration_ms},
                   {"warmup_ms", o.load.warmup_ms},
                   {"count", o.load.count},
                   {"iptables", first_line({"iptables-nft", "--version"})},
                   {"nft", first_line({"nft", "--version"})}}}};
    for (const auto& mode : modes)
        results["modes"].push_back(mode->name());

    std::map<std::string, std::string> retired;
    const auto t0 = std::chrono::steady_clock::now();
    for (const int n : o.sizes)
        results["sizes"].push_back(measure_size(o, modes, n, retired, scratch));
    results["meta"]["load_average_end"] = load_average();
    results["meta"]["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    fs::create_directories(o.out);
    {
        std::ofstream out(o.out / "results.json", std::ios::trunc);
        out << results.dump(1) << '\n';
        if (!out.flush())
            throw std::runtime_error(fmt::format("cannot write {}", (o.out / "results.json").string()));
    }
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
    if (const auto missing = kpr::testbed::missing_kernel_privileges()) {
        fmt::print(stderr, "kpr-bench: needs CAP_BPF/CAP_NET_ADMIN (run as root): {}\n", *missing);
        return 77;
    }
    install_interruption_handlers();
    // Children (servers, load clients, agent, loaders) inherit it.
    if (o.nice != 0 && ::setpriority(PRIO_PROCESS, 0, o.nice) != 0) {
        fmt::print(stderr, "kpr-bench: setpriority {}: {}\n", o.nice, std::strerror(errno));
        return 1;
    }
    try {
        return run(o);
    } catch (const Interrupted& e) {
        fmt::print(stderr, "kpr-bench: {}\n", e.what());
        return 130;
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-bench: {}\n", e.what());
        return 1;
    }
}
