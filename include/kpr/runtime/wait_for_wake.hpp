// The agent's one blocking wait: until a source's descriptor (inotify, the
// API source's wake, the node's route changes) or the stop signal becomes
// readable, in one poll().
#pragma once

#include <poll.h>

#include <cerrno>
#include <initializer_list>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"

namespace kpr::runtime {

// The index of the first of fds that became readable; nullopt when stop_fd
// woke the wait (stopping wins over a change that came with it). A negative
// descriptor is never readable.
inline std::optional<std::size_t> wait_for_any(std::initializer_list<int> fds, int stop_fd) {
    std::vector<pollfd> polled;
    for (int fd : fds)
        polled.push_back({fd, POLLIN, 0});
    polled.push_back({stop_fd, POLLIN, 0});
    for (;;) {
        if (::poll(polled.data(), polled.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            throw Error(fmt::format("poll: {}", errno_text(errno)));
        }
        if (polled.back().revents != 0)
            return std::nullopt;
        for (std::size_t i = 0; i + 1 < polled.size(); ++i)
            if (polled[i].revents != 0)
                return i;
    }
}

// True when stop_fd woke the wait; false when fd became readable.
inline bool wait_for_wake(int fd, int stop_fd) { return !wait_for_any({fd}, stop_fd); }

} // namespace kpr::runtime
