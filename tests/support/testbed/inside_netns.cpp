// InsideNetns over setns(2).
#include "testbed/inside_netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace kpr::testbed {

InsideNetns::InsideNetns(const NetNs& ns) : original_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
    if (!original_)
        throw std::runtime_error(fmt::format("opening this thread's network namespace: {}", std::strerror(errno)));
    UniqueFd target(::open(ns.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!target || ::setns(target.get(), CLONE_NEWNET) != 0)
        throw std::runtime_error(fmt::format("entering {}: {}", ns.path(), std::strerror(errno)));
}

InsideNetns::~InsideNetns() {
    if (::setns(original_.get(), CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "kpr testbed: cannot return to the original network namespace: %s\n",
                     std::strerror(errno));
        std::abort();
    }
}

} // namespace kpr::testbed
