// The shared measurement steps: programming with a cap, interleaved load rounds.
#include "harness.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "testbed/command.hpp"
#include "interruption.hpp"
#include "testbed/debris.hpp"
#include "testbed/privileges.hpp"

namespace kpr::bench {

using nlohmann::json;

double load_average() {
    std::ifstream in("/proc/loadavg");
    double one_minute = 0;
    in >> one_minute;
    return one_minute;
}

namespace {

std::string first_line(const std::vector<std::string>& argv) {
    try {
        const auto out = kpr::testbed::run(argv);
        return out.substr(0, out.find('\n'));
    } catch (const std::exception& e) {
        return e.what();
    }
}

} // namespace

int guarded_bench_main(std::string_view program, int nice, const std::function<int()>& run) {
    if (const auto missing = kpr::testbed::missing_kernel_privileges()) {
        fmt::print(stderr, "{}: needs CAP_BPF/CAP_NET_ADMIN (run as root): {}\n", program, *missing);
        return 77;
    }
    install_interruption_handlers();
    if (nice != 0 && ::setpriority(PRIO_PROCESS, 0, nice) != 0) {
        fmt::print(stderr, "{}: setpriority {}: {}\n", program, nice, std::strerror(errno));
        return 1;
    }
    try {
        return run();
    } catch (const Interrupted& e) {
        fmt::print(stderr, "{}: {}\n", program, e.what());
        return 130;
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: {}\n", program, e.what());
        return 1;
    }
}

json run_json(const RunSettings& s, const std::vector<std::unique_ptr<Mode>>& modes) {
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
                   {"iptables", first_line({"iptables-nft", "--version"})},
                   {"nft", first_line({"nft", "--version"})},
                   {"smoke", s.smoke},
                   {"sizes", s.sizes},
                   {"repetitions", s.repetitions},
                   {"cap_seconds", s.cap_seconds},
                   {"nice", s.nice},
                   {"endpoints_per_service", endpoints_per_service},
                   {"parallel", s.load.parallel},
                   {"duration_ms", s.load.duration_ms},
                   {"warmup_ms", s.load.warmup_ms},
                   {"count", s.load.count}}}};
    for (const auto& mode : modes)
        results["modes"].push_back(mode->name());
    return results;
}

void write_json(const std::filesystem::path& file, const json& results) {
    if (file.has_parent_path())
        std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::trunc);
    out << results.dump(1) << '\n';
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

ScratchDir::ScratchDir(std::string_view tag)
    : path_(std::filesystem::temp_directory_path() / kpr::testbed::test_object_name(tag)) {
    std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
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

std::vector<Mode*> program_modes(const std::vector<std::unique_ptr<Mode>>& modes, const BenchCluster& cluster,
                                 int cap_seconds, std::map<std::string, std::string>& retired, json& size) {
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
            retired[mode->name()] =
                fmt::format("programming {} services took longer than the {} s cap", n, cap_seconds);
            size["skipped"][mode->name()] = retired[mode->name()];
        } else {
            active.push_back(mode.get());
        }
    }
    return active;
}

void run_traffic(std::span<const TargetKind> kinds, int repetitions, const LoadSettings& load,
                 const std::vector<Mode*>& active, const BenchCluster& cluster,
                 const std::filesystem::path& scratch, json& size) {
    for (const auto& kind : kinds)
        for (Mode* mode : active)
            write_targets(scratch / fmt::format("{}-{}.targets", mode->name(), kind.name),
                          mode->targets(cluster, kind.set));
    std::map<const Mode*, LoadClient> clients;
    for (Mode* mode : active)
        clients.emplace(mode, *mode);
    std::uint64_t seed = 1;
    for (int r = 0; r < repetitions; ++r)
        for (std::size_t k = 0; k < kinds.size(); ++k) {
            const auto& kind = kinds[k];
            std::vector<Mode*> order;
            for (std::size_t m = 0; m < active.size(); ++m)
                order.push_back(active[(m + static_cast<std::size_t>(r) + k) % active.size()]);
            for (Mode* mode : order) {
                const auto result = clients.at(mode).run(
                    scratch / fmt::format("{}-{}.targets", mode->name(), kind.name), kind.protocol, load, seed++);
                json entry = load_json(result);
                entry["repetition"] = r;
                size["traffic"][kind.name][mode->name()].push_back(entry);
            }
        }
    for (const auto& kind : kinds)
        for (Mode* mode : active) {
            std::vector<double> rates;
            for (const auto& entry : size["traffic"][kind.name][mode->name()])
                rates.push_back(entry["rate"].get<double>());
            if (rates.empty())
                continue;
            std::ranges::sort(rates);
            fmt::print("  {:16} {:16} median {:9.0f}/s over {} runs\n", kind.name, mode->name(),
                       rates[rates.size() / 2], rates.size());
        }
    std::fflush(stdout);
}

} // namespace kpr::bench
