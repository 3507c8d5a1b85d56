// Load measurements in a mode's client pod: kpr-bench-load kept running in
// the pod's namespace (and the mode's client cgroup) for a whole size, one
// short run per request, so the harness can alternate modes quickly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "mode.hpp"
#include "testbed/process.hpp"

namespace kpr::bench {

struct LoadSettings {
    int parallel = 4;
    int duration_ms = 200;
    int warmup_ms = 20;
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

class LoadClient {
  public:
    // Starts kpr-bench-load in the mode's client pod and cgroup.
    explicit LoadClient(const Mode& mode);

    LoadResult run(const std::filesystem::path& targets_file, std::string_view protocol,
                   const LoadSettings& settings, std::uint64_t seed);

  private:
    testbed::Process process_;
};

} // namespace kpr::bench
