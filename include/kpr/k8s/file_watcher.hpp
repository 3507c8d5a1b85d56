// Wakes the agent when a watched directory changes: a file written and
// closed, moved in or out, created or deleted (editors and `kubectl get >
// file` write in place; tools that replace a file atomically rename into
// place). Events that arrive together are taken as one change, since the
// source re-reads whatever changed anyway.
#pragma once

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"
#include "kpr/runtime/unique_fd.hpp"
#include "kpr/runtime/wait_for_wake.hpp"

namespace kpr::k8s {

class FileWatcher {
  public:
    enum class Wake { changed, other, stop };

    explicit FileWatcher(const std::vector<std::filesystem::path>& directories)
        : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        if (!fd_)
            throw runtime::Error(fmt::format("inotify: {}", runtime::errno_text(errno)));
        constexpr std::uint32_t events =
            IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF;
        for (const auto& dir : directories)
            if (::inotify_add_watch(fd_.get(), dir.c_str(), events) < 0)
                throw runtime::Error(
                    fmt::format("watching {}: {}", dir.string(), runtime::errno_text(errno)));
    }

    // Blocks until something changed, `other_fd` (when not -1) became
    // readable (Wake::other; the caller reads it), or `stop_fd` did.
    Wake wait(int stop_fd, int other_fd = -1) {
        const auto woke = runtime::wait_for_any({fd_.get(), other_fd}, stop_fd);
        if (!woke)
            return Wake::stop;
        if (*woke == 1)
            return Wake::other;
        drain();
        return Wake::changed;
    }

  private:
    void drain() {
        alignas(inotify_event) std::array<char, 16384> buf;
        while (::read(fd_.get(), buf.data(), buf.size()) > 0) {
        }
    }

    runtime::UniqueFd fd_;
};

} // namespace kpr::k8s
