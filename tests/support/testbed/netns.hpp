// A named network namespace the test owns (`ip netns add`), with IPv6
// duplicate address detection off so addresses are usable at once, ICMP error
// rate limits off, and lo up.
// Nothing in it links to the machine's own namespace unless a test puts it there.
#pragma once

#include <string>
#include <vector>

#include "testbed/process.hpp"

namespace kpr::testbed {

class NetNs {
  public:
    // Creates the namespace; throws std::runtime_error (leaving nothing
    // behind) when it cannot.
    explicit NetNs(std::string name);
    NetNs(NetNs&& other) noexcept;
    NetNs& operator=(NetNs&&) = delete;
    NetNs(const NetNs&) = delete;
    NetNs& operator=(const NetNs&) = delete;
    // Removes the name; the kernel frees the namespace and its interfaces once
    // no process is left inside.
    ~NetNs();

    const std::string& name() const { return name_; }
    // The bind mount that keeps the namespace alive: /var/run/netns/<name>.
    std::string path() const;

    // argv prefixed with `nsenter --net=<path> --`. Unlike `ip netns exec`, it
    // leaves /sys (and so the cgroup tree) as it is.
    std::vector<std::string> enter(const std::vector<std::string>& argv) const;
    // Runs argv inside the namespace and returns its stdout (see testbed::run).
    std::string run(const std::vector<std::string>& argv) const;
    bool try_run(const std::vector<std::string>& argv) const noexcept;
    // Starts argv inside the namespace.
    Process spawn(const std::vector<std::string>& argv) const;
    // Runs `ip -n <name> args...`.
    std::string ip(const std::vector<std::string>& args) const;

  private:
    std::string name_;
};

} // namespace kpr::testbed
