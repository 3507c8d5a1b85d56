// Drains the child's stdout and stderr together with poll(), so a chatty
// command can never block on a full pipe while we wait on the other one.
#include "testbed/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "testbed/spawn.hpp"
#include "testbed/unique_fd.hpp"

namespace kpr::testbed {
namespace {

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe2: {}", std::strerror(errno)));
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

struct Finished {
    int wait_status;
    std::string output;
    std::string errors;
};

Finished run_to_completion(const std::vector<std::string>& argv) {
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    const pid_t pid = spawn_child(argv, {.output = out.write_end.get(),
                                         .errors = err.write_end.get(),
                                         .input_from_dev_null = true});
    out.write_end.reset();
    err.write_end.reset();

    Finished finished{};
    std::array<pollfd, 2> fds{{{out.read_end.get(), POLLIN, 0}, {err.read_end.get(), POLLIN, 0}}};
    std::array<std::string*, 2> sinks{&finished.output, &finished.errors};
    int open_streams = 2;
    while (open_streams > 0) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char buffer[4096];
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                sinks[i]->append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_streams;
            }
        }
    }
    // Closing our ends first means a child we stopped reading from gets
    // SIGPIPE instead of blocking this waitpid forever.
    out.read_end.reset();
    err.read_end.reset();
    while (::waitpid(pid, &finished.wait_status, 0) < 0 && errno == EINTR) {
    }
    return finished;
}

} // namespace

std::string run(const std::vector<std::string>& argv) {
    Finished finished = run_to_completion(argv);
    if (!WIFEXITED(finished.wait_status) || WEXITSTATUS(finished.wait_status) != 0)
        throw std::runtime_error(fmt::format("`{}` failed with {}: {}", command_line(argv),
                                             describe_wait_status(finished.wait_status),
                                             finished.errors));
    return std::move(finished.output);
}

CommandResult run_unchecked(const std::vector<std::string>& argv) {
    Finished finished = run_to_completion(argv);
    const int status = finished.wait_status;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return {code, std::move(finished.output), std::move(finished.errors)};
}

bool try_run(const std::vector<std::string>& argv) noexcept {
    try {
        const Finished finished = run_to_completion(argv);
        return WIFEXITED(finished.wait_status) && WEXITSTATUS(finished.wait_status) == 0;
    } catch (...) {
        return false;
    }
}

} // namespace kpr::testbed
