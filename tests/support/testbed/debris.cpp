// sweep_debris: only names whose embedded pid is dead are touched, so running
// test processes (including this one) keep what they made.
#include "testbed/debris.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/std.h>

#include "testbed/cgroup.hpp"
#include "testbed/command.hpp"

namespace kpr::testbed {
namespace {

constexpr std::string_view name_prefix = "kprt-";

std::optional<pid_t> owner_pid(std::string_view name) {
    if (!name.starts_with(name_prefix))
        return std::nullopt;
    name.remove_prefix(name_prefix.size());
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end == name.data() + name.size() || *end != '-' || pid <= 0)
        return std::nullopt;
    return pid;
}

bool left_by_dead_process(std::string_view name) {
    const auto pid = owner_pid(name);
    return pid && ::kill(*pid, 0) != 0 && errno == ESRCH;
}

// Entries of dir that a dead test process left; none when dir does not exist.
std::vector<std::filesystem::path> debris_in(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (left_by_dead_process(entry.path().filename().string()))
            found.push_back(entry.path());
    return found;
}

void report(const std::filesystem::path& what, std::string_view problem) {
    fmt::print(stderr, "kpr testbed: could not sweep {}: {}\n", what, problem);
}

void sweep_network_namespace(const std::string& name) {
    // A server the dead test started would otherwise keep the namespace (and
    // its port) alive after the name is gone.
    try {
        std::istringstream pids(run({"ip", "netns", "pids", name}));
        for (pid_t pid; pids >> pid;)
            ::kill(pid, SIGKILL);
    } catch (const std::exception& e) {
        report(name, e.what());
    }
    if (!try_run({"ip", "netns", "del", name}))
        report(name, "ip netns del failed");
}

} // namespace

std::string test_object_name(std::string_view tag) {
    return fmt::format("{}{}-{}", name_prefix, ::getpid(), tag);
}

void sweep_debris() {
    for (const auto& netns : debris_in("/var/run/netns"))
        sweep_network_namespace(netns.filename().string());

    try {
        for (const auto& cgroup : debris_in(cgroup2_mount())) {
            try {
                remove_test_cgroup(cgroup);
            } catch (const std::exception& e) {
                report(cgroup, e.what());
            }
        }
    } catch (const std::exception& e) {
        report("cgroups", e.what());
    }

    // Memory cgroups on a cgroup v1 memory hierarchy (the benchmark charges
    // rule loaders to one); their processes have exited, so rmdir suffices.
    for (const auto& memcg : debris_in("/sys/fs/cgroup/memory")) {
        std::error_code ec;
        std::filesystem::remove(memcg, ec);
        if (ec)
            report(memcg, ec.message());
    }

    // Pinned maps and links (unpinning detaches the programs), then the
    // source files kpr-agent read.
    for (const auto& dir : {std::filesystem::path("/sys/fs/bpf/kpr"), std::filesystem::temp_directory_path()}) {
        for (const auto& leftover : debris_in(dir)) {
            std::error_code ec;
            std::filesystem::remove_all(leftover, ec);
            if (ec)
                report(leftover, ec.message());
        }
    }
}

} // namespace kpr::testbed
