// TestCgroup and its teardown. Emptying a cgroup is awaited through
// cgroup.events, which the kernel flags for poll() when "populated" changes.
#include "testbed/cgroup.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/std.h>

#include "testbed/debris.hpp"
#include "testbed/unique_fd.hpp"

namespace kpr::testbed {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto emptying_timeout = std::chrono::seconds(5);

std::runtime_error file_error(const std::filesystem::path& path, std::string_view action) {
    return std::runtime_error(fmt::format("{} {}: {}", action, path, std::strerror(errno)));
}

// /proc/self/mounts writes space, tab, newline and backslash as \ooo.
std::string decode_mount_field(std::string_view field) {
    std::string decoded;
    for (std::size_t i = 0; i < field.size(); ++i) {
        const bool escape = field[i] == '\\' && i + 3 < field.size() &&
                            std::all_of(field.begin() + i + 1, field.begin() + i + 4,
                                        [](char c) { return c >= '0' && c <= '7'; });
        if (escape) {
            decoded.push_back(
                static_cast<char>(std::stoi(std::string(field.substr(i + 1, 3)), nullptr, 8)));
            i += 3;
        } else {
            decoded.push_back(field[i]);
        }
    }
    return decoded;
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd)
        throw file_error(path, "open");
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw file_error(path, "write to");
}

std::vector<pid_t> read_pids(const std::filesystem::path& procs_file) {
    std::ifstream in(procs_file);
    std::vector<pid_t> pids;
    for (pid_t pid; in >> pid;)
        pids.push_back(pid);
    return pids;
}

// This cgroup and its descendants, deepest first: the order rmdir needs.
std::vector<std::filesystem::path> subtree_deepest_first(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> dirs{root};
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
        if (entry.is_directory() && !entry.is_symlink())
            dirs.push_back(entry.path());
    std::ranges::sort(dirs, [](const auto& a, const auto& b) {
        return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
    });
    return dirs;
}

bool populated(int events_fd) {
    char buffer[256];
    const ssize_t n = ::pread(events_fd, buffer, sizeof buffer - 1, 0);
    if (n < 0)
        return true;
    const std::string_view text(buffer, static_cast<std::size_t>(n));
    return text.find("populated 1") != std::string_view::npos;
}

// Waits until no live process is left in the subtree; false on timeout.
bool wait_until_empty(const std::filesystem::path& cgroup, Clock::time_point deadline) {
    const auto events_path = cgroup / "cgroup.events";
    UniqueFd events(::open(events_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!events)
        throw file_error(events_path, "open");
    while (populated(events.get())) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return false;
        pollfd fd{events.get(), POLLPRI, 0};
        if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
            throw file_error(events_path, "poll");
    }
    return true;
}

void kill_everything_in(const std::filesystem::path& cgroup) {
    const auto kill_file = cgroup / "cgroup.kill";
    if (std::filesystem::exists(kill_file)) {
        write_file(kill_file, "1");
        return;
    }
    // Kernels before 5.14: signal each process; a fork racing with this is
    // caught by the caller's next round.
    for (const auto& dir : subtree_deepest_first(cgroup))
        for (const pid_t pid : read_pids(dir / "cgroup.procs"))
            ::kill(pid, SIGKILL);
}

} // namespace

std::filesystem::path cgroup2_mount() {
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string device, mount_point, type;
        if (fields >> device >> mount_point >> type && type == "cgroup2")
            return decode_mount_field(mount_point);
    }
    throw std::runtime_error("no cgroup2 file system in /proc/self/mounts");
}

TestCgroup::TestCgroup(std::string_view tag) : path_(cgroup2_mount() / test_object_name(tag)) {
    if (!std::filesystem::create_directory(path_))
        throw std::runtime_error(fmt::format("cgroup {} already exists", path_));
}

TestCgroup::TestCgroup(TestCgroup&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TestCgroup::~TestCgroup() {
    if (path_.empty())
        return;
    try {
        remove_test_cgroup(path_);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr testbed: could not remove cgroup {}: {}\n", path_, e.what());
    }
}

void TestCgroup::add_process(pid_t pid) const {
    write_file(path_ / "cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> TestCgroup::processes() const {
    return read_pids(path_ / "cgroup.procs");
}

void remove_test_cgroup(const std::filesystem::path& path) {
    if (path.parent_path() != cgroup2_mount() || !path.filename().string().starts_with("kprt-"))
        throw std::logic_error(fmt::format("{} is not a testbed cgroup", path));
    if (!std::filesystem::exists(path))
        return;

    const auto deadline = Clock::now() + emptying_timeout;
    constexpr auto kill_round = std::chrono::milliseconds(500);
    bool empty = false;
    while (!empty && Clock::now() < deadline) {
        kill_everything_in(path);
        empty = wait_until_empty(path, std::min(deadline, Clock::now() + kill_round));
    }
    if (!empty)
        throw std::runtime_error(fmt::format("processes in {} survived SIGKILL for {} s", path,
                                             emptying_timeout.count()));
    for (const auto& dir : subtree_deepest_first(path))
        if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
            throw file_error(dir, "rmdir");
}

} // namespace kpr::testbed
