// The probes' command lines and the parsers of the client's reports.
#include "testbed/probe.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "testbed/command.hpp"
#include "testbed/paths.hpp"

namespace kpr::testbed {
namespace {

constexpr auto server_start_timeout = std::chrono::seconds(5);

int sum_of(const std::map<std::string, int>& counts) {
    return std::accumulate(counts.begin(), counts.end(), 0,
                           [](int sum, const auto& entry) { return sum + entry.second; });
}

} // namespace

Process start_echo_server(const NetNs& ns, std::string_view name,
                          const std::vector<std::uint16_t>& ports, bool report_client) {
    std::vector<std::string> argv{std::string(test_server_path), "--name", std::string(name)};
    if (report_client)
        argv.emplace_back("--report-client");
    for (const auto port : ports) {
        argv.emplace_back("--port");
        argv.push_back(std::to_string(port));
    }
    Process server = ns.spawn(argv);
    server.expect_line("ready", server_start_timeout);
    return server;
}

std::string endpoint_text(std::string_view address, int port) {
    return address.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", address, port)
                                                        : fmt::format("{}:{}", address, port);
}

int ProbeReport::total_responses() const {
    return sum_of(responses);
}
int ProbeReport::total_errors() const {
    return sum_of(errors);
}

ProbeReport parse_probe_report(std::string_view output) {
    ProbeReport report;
    report.output = std::string(output);
    std::istringstream lines(report.output);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string key, value;
        int count = 1;
        fields >> key >> value;
        // udp-connected prints its single "peer <addr>" without a count.
        if (!value.empty() && !(fields >> count))
            count = 1;
        if (key == "response")
            report.responses[value] += count;
        else if (key == "peer")
            report.peers[value] += count;
        else if (key == "source")
            report.sources[value] += count;
        else if (key == "error")
            report.errors[value] += count;
        else if (key == "done")
            report.done = true;
        else
            throw std::runtime_error(
                fmt::format("unexpected line \"{}\" in probe output:\n{}", line, output));
    }
    return report;
}

std::string ReachProbe::str() const {
    return fmt::format("{},{},{}", protocol, address, port);
}

std::vector<std::string> reach_mode(const std::vector<ReachProbe>& probes,
                                    std::chrono::milliseconds timeout) {
    std::vector<std::string> mode{"reach", "--timeout-ms", std::to_string(timeout.count())};
    for (const ReachProbe& probe : probes) {
        mode.emplace_back("--target");
        mode.push_back(probe.str());
    }
    return mode;
}

std::vector<ReachOutcome> read_reach_report(Process& client, const std::vector<ReachProbe>& probes,
                                            std::chrono::milliseconds timeout) {
    // A probe waits at most two operations (connect, then the answer); the
    // slack covers starting the process and its threads on a busy machine.
    const auto deadline = std::chrono::steady_clock::now() + 2 * timeout + std::chrono::seconds(10);
    std::string seen;
    auto next_line = [&]() {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto line = client.read_line(std::max(left, std::chrono::milliseconds(0)));
        if (!line)
            throw std::runtime_error(fmt::format("{}: the reach report ended early:\n{}",
                                                 client.command(), seen));
        seen += *line + "\n";
        return *line;
    };
    std::vector<ReachOutcome> outcomes;
    for (const ReachProbe& probe : probes) {
        const std::string line = next_line();
        std::istringstream fields(line);
        std::string key, target, verdict;
        ReachOutcome outcome;
        fields >> key >> target >> verdict >> outcome.detail;
        if (key != "reach" || target != probe.str() || (verdict != "ok" && verdict != "error") ||
            outcome.detail.empty())
            throw std::runtime_error(fmt::format("{}: expected \"reach {} ok|error ...\", got "
                                                 "\"{}\" in:\n{}",
                                                 client.command(), probe.str(), line, seen));
        outcome.reached = verdict == "ok";
        outcomes.push_back(std::move(outcome));
    }
    if (const std::string line = next_line(); line != "done")
        throw std::runtime_error(fmt::format("{}: expected \"done\", got \"{}\" in:\n{}",
                                             client.command(), line, seen));
    if (const int status = client.wait(std::chrono::seconds(5)); status != 0)
        throw std::runtime_error(
            fmt::format("{}: exited with status {} after:\n{}", client.command(), status, seen));
    return outcomes;
}

ProbeClient::ProbeClient(const NetNs& ns) : netns_path_(ns.path()) {}

ProbeClient::ProbeClient(const NetNs& ns, const TestCgroup& cgroup)
    : netns_path_(ns.path()), cgroup_path_(cgroup.path()) {}

std::vector<std::string> ProbeClient::command(const std::vector<std::string>& mode) const {
    std::vector<std::string> argv{std::string(test_client_path), "--netns", netns_path_};
    if (cgroup_path_) {
        argv.emplace_back("--cgroup");
        argv.push_back(cgroup_path_->string());
    }
    argv.insert(argv.end(), mode.begin(), mode.end());
    return argv;
}

std::string ProbeClient::run(const std::vector<std::string>& mode) const {
    return testbed::run(command(mode));
}

ProbeReport ProbeClient::report(const std::vector<std::string>& mode) const {
    return parse_probe_report(run(mode));
}

Process ProbeClient::spawn(const std::vector<std::string>& mode) const {
    return Process(command(mode));
}

} // namespace kpr::testbed
