// A cgroup v2 directory the test owns, for attaching cgroup BPF programs and
// for holding the processes they should apply to. It lives directly under the
// cgroup2 mount and is named kprt-<pid>-<tag>; nothing else in the tree is
// ever written to.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>
#include <vector>

namespace kpr::testbed {

// Where cgroup v2 is mounted, read from /proc/self/mounts (a hybrid hierarchy
// puts it at /sys/fs/cgroup/unified). Throws std::runtime_error when absent.
std::filesystem::path cgroup2_mount();

class TestCgroup {
  public:
    // Creates <cgroup2 mount>/kprt-<pid>-<tag>; throws std::runtime_error when
    // it cannot (including when that name is already taken).
    explicit TestCgroup(std::string_view tag);
    TestCgroup(TestCgroup&& other) noexcept;
    TestCgroup& operator=(TestCgroup&&) = delete;
    TestCgroup(const TestCgroup&) = delete;
    TestCgroup& operator=(const TestCgroup&) = delete;
    // Kills whatever still runs inside, waits until it is empty and removes it.
    ~TestCgroup();

    const std::filesystem::path& path() const { return path_; }
    // Moves the process into this cgroup.
    void add_process(pid_t pid) const;
    // The processes directly in this cgroup.
    std::vector<pid_t> processes() const;

  private:
    std::filesystem::path path_;
};

// Kills every process in the cgroup at path and its descendants, waits until
// they are gone and removes the directories. Refuses (std::logic_error) any
// path that is not a kprt-* directory at the top of the cgroup2 mount, so it
// can only ever remove what the testbed made.
void remove_test_cgroup(const std::filesystem::path& path);

} // namespace kpr::testbed
