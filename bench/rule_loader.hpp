// Running a rule loader (iptables-restore, nft -f) the way kube-proxy does,
// inside a namespace, timed, and cut off after a cap instead of hanging; and
// the memory cgroup its kernel allocations are charged to, which is how the
// benchmark tells how much memory a ruleset holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testbed/netns.hpp"

namespace kpr::bench {

// A cgroup v1 memory cgroup kprt-<pid>-<tag> (the machine's memory controller
// is on v1; kernel memory of rules, chains and sets is charged to the cgroup
// of the process that created them, and stays charged after it exits).
class MemoryCgroup {
  public:
    // nullopt when no v1 memory controller is mounted.
    static std::optional<MemoryCgroup> create(std::string_view tag);
    MemoryCgroup(MemoryCgroup&& other) noexcept;
    MemoryCgroup& operator=(MemoryCgroup&&) = delete;
    MemoryCgroup(const MemoryCgroup&) = delete;
    ~MemoryCgroup();

    const std::filesystem::path& path() const { return path_; }
    // Kernel memory charged to the cgroup now (memory.kmem.usage_in_bytes).
    std::uint64_t kernel_bytes() const;

  private:
    explicit MemoryCgroup(std::filesystem::path path) : path_(std::move(path)) {}
    std::filesystem::path path_;
};

struct LoaderRun {
    double seconds = 0; // from fork to exit, as kube-proxy waits for its loader
    bool cut_off = false;
    int exit_code = 0;
    std::string errors; // what it printed on stderr
};

// Runs argv inside ns (and memcg, when given) and waits at most cap; a run
// past the cap is killed and reported cut off. Throws on SIGINT/SIGTERM.
LoaderRun run_loader(const std::vector<std::string>& argv, const testbed::NetNs& ns, const MemoryCgroup* memcg,
                     std::chrono::milliseconds cap, const std::filesystem::path& scratch_dir);

// Like run_loader without a cap or cgroup, for untimed set-up steps; throws
// with the loader's errors when it fails.
void run_setup_loader(const std::vector<std::string>& argv, const testbed::NetNs& ns,
                      const std::filesystem::path& scratch_dir);

} // namespace kpr::bench

namespace kpr::bench {

// Writes text to dir/name and returns the path (for the loader to read).
std::filesystem::path write_rules_file(const std::filesystem::path& dir, std::string_view name, const std::string& text);

} // namespace kpr::bench
