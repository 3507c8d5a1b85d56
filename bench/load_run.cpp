// Starting kpr-bench-load through nsenter and parsing its report.
#include "load_run.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "bench_paths.hpp"
#include "interruption.hpp"
#include "testbed/command.hpp"

namespace kpr::bench {
namespace {

// The value of key=<value> in the client's result line.
double field(const std::string& line, std::string_view key) {
    const auto needle = fmt::format(" {}=", key);
    const auto at = line.find(needle);
    if (at == std::string::npos)
        throw std::runtime_error(fmt::format("kpr-bench-load printed no {}: {}", key, line));
    return std::stod(line.substr(at + needle.size()));
}

} // namespace

void write_targets(const std::filesystem::path& file, const std::vector<Target>& targets) {
    std::ofstream out(file, std::ios::trunc);
    for (const auto& t : targets)
        out << t.address << ' ' << t.port << '\n';
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

LoadResult run_load(const Mode& mode, const std::filesystem::path& targets_file, std::string_view protocol,
                    const LoadSettings& s, std::uint64_t seed) {
    check_interruption();
    const auto output = testbed::run(mode.node().client().ns.enter(
        {std::string(load_client_path), "--cgroup", mode.client_cgroup().path().string(), "--targets",
         targets_file.string(), "--protocol", std::string(protocol), "--parallel", std::to_string(s.parallel),
         "--duration-ms", std::to_string(s.duration_ms), "--warmup-ms", std::to_string(s.warmup_ms), "--count",
         std::to_string(s.count), "--seed", std::to_string(seed)}));
    check_interruption();
    LoadResult result;
    std::istringstream lines(output);
    bool seen = false;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string kind, name;
        long count = 0;
        words >> kind;
        if (kind == "result") {
            seen = true;
            result.completed = static_cast<long>(field(line, "completed"));
            result.errors = static_cast<long>(field(line, "errors"));
            result.rate = field(line, "rate");
            result.p50_us = field(line, "p50_us");
            result.p99_us = field(line, "p99_us");
            result.responders = static_cast<int>(field(line, "responders"));
        } else if (kind == "error" && words >> name >> count) {
            result.error_counts[name] = count;
        }
    }
    if (!seen)
        throw std::runtime_error("kpr-bench-load printed no result line: " + output);
    return result;
}

} // namespace kpr::bench
