// Running a short command (ip, nsenter, sysctl) to completion and capturing
// what it printed; no shell is involved.
#pragma once

#include <string>
#include <vector>

namespace kpr::testbed {

// Runs argv (argv[0] searched in PATH) with stdin from /dev/null and returns its
// stdout. Throws std::runtime_error carrying the command line, how it ended
// and its stderr when it does not exit with status 0.
std::string run(const std::vector<std::string>& argv);

struct CommandResult {
    int exit_code; // 128 + signal when a signal ended it
    std::string output;
    std::string errors;
};

// Runs argv to completion whatever its exit status, for a test that checks
// how a command failed.
CommandResult run_unchecked(const std::vector<std::string>& argv);

// Like run(), for cleanup paths: reports success instead of throwing and
// discards the output.
bool try_run(const std::vector<std::string>& argv) noexcept;

} // namespace kpr::testbed
