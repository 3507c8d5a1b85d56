// NetNs over iproute2 and nsenter.
#include "testbed/netns.hpp"

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "testbed/command.hpp"

namespace kpr::testbed {

NetNs::NetNs(std::string name) : name_(std::move(name)) {
    testbed::run({"ip", "netns", "add", name_});
    try {
        // DAD off before any interface exists, so every one created later
        // inherits it; ICMP error rate limits off, so every refused or
        // unreachable attempt is answered and a test sees the same errors on
        // every run.
        this->run({"sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0",
                   "net.ipv6.conf.default.accept_dad=0", "net.ipv4.icmp_ratelimit=0",
                   "net.ipv6.icmp.ratelimit=0"});
        ip({"link", "set", "lo", "up"});
    } catch (...) {
        testbed::try_run({"ip", "netns", "del", name_});
        throw;
    }
}

NetNs::NetNs(NetNs&& other) noexcept : name_(std::exchange(other.name_, {})) {}

NetNs::~NetNs() {
    if (!name_.empty() && !testbed::try_run({"ip", "netns", "del", name_}))
        fmt::print(stderr, "kpr testbed: could not delete network namespace {}\n", name_);
}

std::string NetNs::path() const {
    return "/var/run/netns/" + name_;
}

std::vector<std::string> NetNs::enter(const std::vector<std::string>& argv) const {
    std::vector<std::string> full{"nsenter", "--net=" + path(), "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

std::string NetNs::run(const std::vector<std::string>& argv) const {
    return testbed::run(enter(argv));
}

bool NetNs::try_run(const std::vector<std::string>& argv) const noexcept {
    try {
        return testbed::try_run(enter(argv));
    } catch (...) {
        return false;
    }
}

Process NetNs::spawn(const std::vector<std::string>& argv) const {
    return Process(enter(argv));
}

std::string NetNs::ip(const std::vector<std::string>& args) const {
    std::vector<std::string> full{"ip", "-n", name_};
    full.insert(full.end(), args.begin(), args.end());
    return testbed::run(full);
}

} // namespace kpr::testbed
