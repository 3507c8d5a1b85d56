// Starting a child with posix_spawnp and describing how it ended; the common
// ground of run() and Process.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kpr::testbed {

// Where the child's standard streams go. A descriptor of -1 keeps the test's own.
struct ChildStdio {
    int input = -1;
    int output = -1;
    int errors = -1;
    bool input_from_dev_null = false;
};

// Starts argv[0] (searched in PATH) with the given streams; throws
// std::runtime_error naming the command when it cannot be started.
pid_t spawn_child(const std::vector<std::string>& argv, const ChildStdio& stdio);

// "ip netns add x" style text for messages.
std::string command_line(const std::vector<std::string>& argv);

// "exit status 1" / "killed by signal 9" for a waitpid() status.
std::string describe_wait_status(int status);

// The exit code, or 128 + the signal number when a signal ended the process.
int exit_code(int wait_status);

} // namespace kpr::testbed
