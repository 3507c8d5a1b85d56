// The agent's one blocking wait: until a source's descriptor (inotify, the
// API source's wake) or the stop signal becomes readable, in one poll().
#pragma once

#include <poll.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"

namespace kpr::runtime {

// True when stop_fd woke the wait (stopping wins over a change that came
// with it); false when fd became readable.
inline bool wait_for_wake(int fd, int stop_fd) {
    std::array<pollfd, 2> fds{{{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}}};
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            throw Error(fmt::format("poll: {}", errno_text(errno)));
        }
        if (fds[1].revents != 0)
            return true;
        if (fds[0].revents != 0)
            return false;
    }
}

} // namespace kpr::runtime
