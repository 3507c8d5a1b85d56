// Driving the probe programs from a test: starting kpr-test-server in a pod,
// running kpr-test-client in a pod (and a cgroup), and reading its reports:
// the aggregated modes' counts and the reach mode's one outcome per target.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testbed/cgroup.hpp"
#include "testbed/netns.hpp"
#include "testbed/process.hpp"

namespace kpr::testbed {

// Starts kpr-test-server --name name --port ... inside ns and returns once it
// printed "ready"; throws std::runtime_error (with its output) otherwise.
// With report_client, each reply is "<name>@<client address>".
Process start_echo_server(const NetNs& ns, std::string_view name,
                          const std::vector<std::uint16_t>& ports, bool report_client = false);

// An address and port as the client prints getpeername() and recvfrom()
// results: "10.0.0.1:80", "[fd00::1]:80".
std::string endpoint_text(std::string_view address, int port);

// What an aggregated kpr-test-client mode (tcp, udp, udp-connected) printed,
// as counts per distinct value.
struct ProbeReport {
    std::map<std::string, int> responses; // backend name -> replies
    std::map<std::string, int> peers;     // getpeername() "addr:port" -> times
    std::map<std::string, int> sources;   // recvfrom() source "addr:port" -> times
    std::map<std::string, int> errors;    // errno name (or EOF) -> attempts
    bool done = false;                    // the final "done" line arrived
    std::string output;                   // the text as printed, for messages

    int total_responses() const;
    int total_errors() const;
};

// Parses the client's output; throws std::runtime_error on a line it does not know.
ProbeReport parse_probe_report(std::string_view output);

// One request of kpr-test-client's reach mode: a TCP connection or a
// connected UDP socket to address:port, one line or datagram, one answer.
struct ReachProbe {
    std::string protocol; // "tcp" or "udp"
    std::string address;  // IPv4 or IPv6, without brackets
    std::uint16_t port;

    // As the client takes and prints it: "tcp,10.244.0.11,80".
    std::string str() const;
};

struct ReachOutcome {
    bool reached = false; // a server answered
    std::string detail;   // the answering server's name, or the errno name (ETIMEDOUT, ...)
};

// The reach mode's arguments: every probe at once, each socket operation
// giving up after timeout.
std::vector<std::string> reach_mode(const std::vector<ReachProbe>& probes,
                                    std::chrono::milliseconds timeout);

// Reads a running reach client's report and collects its exit: one outcome
// per probe, in order. Throws std::runtime_error (with the output so far)
// when a line is missing, out of order or malformed, or the client hangs.
std::vector<ReachOutcome> read_reach_report(Process& client, const std::vector<ReachProbe>& probes,
                                            std::chrono::milliseconds timeout);

// kpr-test-client run inside a network namespace and, optionally, a cgroup.
class ProbeClient {
  public:
    explicit ProbeClient(const NetNs& ns);
    ProbeClient(const NetNs& ns, const TestCgroup& cgroup);

    // The full command line for a mode, e.g. {"tcp", "--to", ip, "--port", "80"}.
    std::vector<std::string> command(const std::vector<std::string>& mode) const;
    // Runs the mode to completion and returns what it printed.
    std::string run(const std::vector<std::string>& mode) const;
    // Runs an aggregated mode and parses its report.
    ProbeReport report(const std::vector<std::string>& mode) const;
    // Starts a mode that keeps running (hold).
    Process spawn(const std::vector<std::string>& mode) const;

  private:
    std::string netns_path_;
    std::optional<std::filesystem::path> cgroup_path_;
};

} // namespace kpr::testbed
