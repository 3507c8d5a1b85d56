// A child process a test talks to line by line (a probe server or a long-lived
// client): its stdin and stdout are ours, its stderr goes to the test's stderr
// so its complaints show up in the test log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testbed/unique_fd.hpp"

namespace kpr::testbed {

class Process {
  public:
    // Starts argv (argv[0] searched in PATH); throws std::runtime_error when it
    // cannot be started.
    explicit Process(const std::vector<std::string>& argv);
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    // Terminates the process if it is still running.
    ~Process();

    pid_t pid() const { return pid_; }
    const std::string& command() const { return command_; }
    // True until wait() or terminate() has collected the exit.
    bool running() const { return pid_ > 0 && !wait_status_; }

    // The next line of stdout without its newline; nullopt when none arrives
    // within the timeout or stdout has ended.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // Reads lines until one starts with prefix and returns it; throws
    // std::runtime_error listing every line seen when none does in time.
    std::string expect_line(std::string_view prefix, std::chrono::milliseconds timeout);

    // Sends line plus a newline to stdin; throws if the process stopped reading.
    void write_line(std::string_view line);
    // Ends stdin, so the process reads end-of-file.
    void close_input();

    // Waits for the process to exit and returns its exit code (128 + signal
    // number when a signal ended it). Throws std::runtime_error on timeout.
    int wait(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL if it has not exited within two seconds.
    void terminate();

  private:
    bool wait_for_exit(std::chrono::milliseconds timeout);
    void terminate_quietly() noexcept;
    std::optional<std::string> take_buffered_line();

    pid_t pid_ = -1;
    std::string command_;
    UniqueFd input_;
    UniqueFd output_;
    UniqueFd exit_notifier_;
    std::string unread_output_;
    bool output_ended_ = false;
    std::optional<int> wait_status_;
};

} // namespace kpr::testbed
