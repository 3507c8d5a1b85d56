// The signal handler and the flag it sets.
#include "interruption.hpp"

#include <csignal>

namespace kpr::bench {
namespace {

volatile std::sig_atomic_t signal_seen = 0;

extern "C" void record_signal(int) { signal_seen = 1; }

} // namespace

void install_interruption_handlers() {
    struct sigaction action {};
    action.sa_handler = record_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: waits end with EINTR
    for (const int signal : {SIGINT, SIGTERM})
        sigaction(signal, &action, nullptr);
}

bool interrupted() { return signal_seen != 0; }

void check_interruption() {
    if (interrupted())
        throw Interrupted();
}

} // namespace kpr::bench
