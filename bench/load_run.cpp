// Talking to kpr-bench-load: a request line per run, its report back.
#include "load_run.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "bench_paths.hpp"
#include "interruption.hpp"

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

LoadClient::LoadClient(const Mode& mode)
    : process_(mode.node().client().ns.spawn(
          {std::string(load_client_path), "--cgroup", mode.client_cgroup().path().string()})) {
    process_.expect_line("ready", std::chrono::seconds(10));
}

LoadResult LoadClient::run(const std::filesystem::path& targets_file, std::string_view protocol,
                           const LoadSettings& s, std::uint64_t seed) {
    check_interruption();
    process_.write_line(fmt::format("run {} {} {} {} {} {} {}", targets_file.string(), protocol, s.parallel,
                                    s.duration_ms, s.warmup_ms, s.count, seed));
    // Every exchange ends within two seconds of the run's end.
    const auto limit = std::chrono::milliseconds(s.warmup_ms + s.duration_ms) + std::chrono::seconds(10);
    LoadResult result;
    bool seen = false;
    for (;;) {
        const auto line = process_.read_line(limit);
        check_interruption();
        if (!line)
            throw std::runtime_error("kpr-bench-load stopped answering (its complaint is above)");
        if (*line == "end")
            break;
        std::istringstream words(*line);
        std::string kind, name;
        long count = 0;
        words >> kind;
        if (kind == "result") {
            seen = true;
            result.completed = static_cast<long>(field(*line, "completed"));
            result.errors = static_cast<long>(field(*line, "errors"));
            result.rate = field(*line, "rate");
            result.p50_us = field(*line, "p50_us");
            result.p99_us = field(*line, "p99_us");
            result.responders = static_cast<int>(field(*line, "responders"));
        } else if (kind == "error" && words >> name >> count) {
            result.error_counts[name] = count;
        }
    }
    if (!seen)
        throw std::runtime_error("kpr-bench-load ended a run without a result line");
    return result;
}

} // namespace kpr::bench
