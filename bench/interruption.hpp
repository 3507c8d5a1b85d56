// SIGINT and SIGTERM end a benchmark run cleanly: the handler only records
// the signal (blocking waits return with EINTR, as it is installed without
// SA_RESTART), and the run throws Interrupted at its next check, so every
// namespace, cgroup, rule and pin is removed by the destructors on the way out.
#pragma once

#include <stdexcept>

namespace kpr::bench {

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted by a signal; cleaning up") {}
};

void install_interruption_handlers();
bool interrupted();
// Throws Interrupted once a signal has arrived.
void check_interruption();

} // namespace kpr::bench
