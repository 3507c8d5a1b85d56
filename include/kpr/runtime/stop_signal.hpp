// SIGTERM and SIGINT as a file descriptor (signalfd), so the agent's loop
// waits for a change or a stop request in one poll() and always leaves
// through the same orderly path.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>

#include "kpr/runtime/error.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {

class StopSignal {
  public:
    StopSignal() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
            throw Error(fmt::format("blocking SIGTERM: {}", errno_text(errno)));
        fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_)
            throw Error(fmt::format("signalfd: {}", errno_text(errno)));
    }

    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
};

} // namespace kpr::runtime
