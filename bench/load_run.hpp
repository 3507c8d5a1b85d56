// One load measurement: kpr-bench-load run in a mode's client pod (and the
// mode's client cgroup) against a file of targets, and what it reported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "mode.hpp"

namespace kpr::bench {

struct LoadSettings {
    int parallel = 4;
    int duration_ms = 1000;
    int warmup_ms = 150;
    long count = 0; // stop after this many exchanges; 0: the duration decides
};

struct LoadResult {
    long completed = 0;
    long errors = 0;
    double rate = 0; // completed exchanges per second of the measured window
    double p50_us = 0;
    double p99_us = 0;
    int responders = 0; // distinct backends that answered
    std::map<std::string, long> error_counts;
};

// Writes targets as "ip port" lines.
void write_targets(const std::filesystem::path& file, const std::vector<Target>& targets);

LoadResult run_load(const Mode& mode, const std::filesystem::path& targets_file, std::string_view protocol,
                    const LoadSettings& settings, std::uint64_t seed);

} // namespace kpr::bench
