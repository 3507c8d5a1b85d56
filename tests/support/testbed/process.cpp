// Process: stdout is read through poll() with a deadline, exits are awaited
// through a pidfd so every wait has a timeout, and stdin is a socket so that
// writing to a process that died raises an error instead of SIGPIPE.
#include "testbed/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "testbed/spawn.hpp"

namespace kpr::testbed {
namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error system_error(std::string_view what) {
    return std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

int remaining_ms(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// Returns poll's result, retrying interrupted calls against the same deadline.
int poll_until(pollfd& fd, Clock::time_point deadline) {
    for (;;) {
        const int ready = ::poll(&fd, 1, remaining_ms(deadline));
        if (ready >= 0 || errno != EINTR)
            return ready;
    }
}

} // namespace

Process::Process(const std::vector<std::string>& argv) : command_(command_line(argv)) {
    int input_pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input_pair) != 0)
        throw system_error("socketpair");
    UniqueFd child_input(input_pair[1]);
    input_.reset(input_pair[0]);

    int output_pipe[2];
    if (::pipe2(output_pipe, O_CLOEXEC) != 0)
        throw system_error("pipe2");
    UniqueFd child_output(output_pipe[1]);
    output_.reset(output_pipe[0]);

    pid_ = spawn_child(argv, {.input = child_input.get(), .output = child_output.get()});
    // Our pidfd for an unreaped child cannot refer to a recycled pid.
    exit_notifier_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!exit_notifier_) {
        const auto error = system_error("pidfd_open");
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        throw error;
    }
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), command_(std::move(other.command_)),
      input_(std::move(other.input_)), output_(std::move(other.output_)),
      exit_notifier_(std::move(other.exit_notifier_)),
      unread_output_(std::move(other.unread_output_)), output_ended_(other.output_ended_),
      wait_status_(other.wait_status_) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        terminate_quietly();
        pid_ = std::exchange(other.pid_, -1);
        command_ = std::move(other.command_);
        input_ = std::move(other.input_);
        output_ = std::move(other.output_);
        exit_notifier_ = std::move(other.exit_notifier_);
        unread_output_ = std::move(other.unread_output_);
        output_ended_ = other.output_ended_;
        wait_status_ = other.wait_status_;
    }
    return *this;
}

Process::~Process() {
    terminate_quietly();
}

void Process::terminate_quietly() noexcept {
    try {
        terminate();
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr testbed: could not stop `{}`: {}\n", command_, e.what());
    }
}

std::optional<std::string> Process::take_buffered_line() {
    const auto newline = unread_output_.find('\n');
    if (newline == std::string::npos) {
        if (!output_ended_ || unread_output_.empty())
            return std::nullopt;
        return std::exchange(unread_output_, {});
    }
    std::string line = unread_output_.substr(0, newline);
    unread_output_.erase(0, newline + 1);
    return line;
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto line = take_buffered_line())
            return line;
        if (output_ended_ || !output_)
            return std::nullopt;
        pollfd fd{output_.get(), POLLIN, 0};
        const int ready = poll_until(fd, deadline);
        if (ready < 0)
            throw system_error("poll");
        if (ready == 0)
            return std::nullopt;
        char buffer[4096];
        const ssize_t n = ::read(output_.get(), buffer, sizeof buffer);
        if (n > 0)
            unread_output_.append(buffer, static_cast<std::size_t>(n));
        else if (n == 0)
            output_ended_ = true;
        else if (errno != EINTR)
            throw system_error("read");
    }
}

std::string Process::expect_line(std::string_view prefix, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::vector<std::string> seen;
    while (auto line = read_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
        if (line->starts_with(prefix))
            return *line;
        seen.push_back(std::move(*line));
    }
    throw std::runtime_error(fmt::format(
        "`{}`: no line starting with \"{}\" {}; lines seen: [{}]", command_, prefix,
        output_ended_ ? "before its output ended" : fmt::format("within {} ms", timeout.count()),
        fmt::join(seen, " | ")));
}

void Process::write_line(std::string_view line) {
    std::string data(line);
    data.push_back('\n');
    std::string_view left = data;
    while (!left.empty()) {
        const ssize_t n = ::send(input_.get(), left.data(), left.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw system_error(fmt::format("writing to `{}`", command_));
        }
        left.remove_prefix(static_cast<std::size_t>(n));
    }
}

void Process::close_input() {
    input_.reset();
}

bool Process::wait_for_exit(std::chrono::milliseconds timeout) {
    if (wait_status_)
        return true;
    pollfd fd{exit_notifier_.get(), POLLIN, 0};
    const int ready = poll_until(fd, Clock::now() + timeout);
    if (ready < 0)
        throw system_error("poll on pidfd");
    if (ready == 0)
        return false;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0)
        if (errno != EINTR)
            throw system_error(fmt::format("waitpid for `{}`", command_));
    wait_status_ = status;
    exit_notifier_.reset();
    return true;
}

int Process::wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0)
        throw std::logic_error("wait() on a moved-from Process");
    if (!wait_for_exit(timeout))
        throw std::runtime_error(fmt::format("`{}` (pid {}) still running after {} ms", command_,
                                             pid_, timeout.count()));
    return exit_code(*wait_status_);
}

void Process::terminate() {
    if (!running())
        return;
    ::kill(pid_, SIGTERM);
    if (wait_for_exit(std::chrono::seconds(2)))
        return;
    ::kill(pid_, SIGKILL);
    // SIGKILL cannot be ignored; only a process stuck in the kernel outlives this.
    if (!wait_for_exit(std::chrono::seconds(10)))
        throw std::runtime_error(
            fmt::format("`{}` (pid {}) survived SIGKILL for 10 s", command_, pid_));
}

} // namespace kpr::testbed
