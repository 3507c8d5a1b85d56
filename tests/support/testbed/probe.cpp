// The probes' command lines and the parser of the client's report.
#include "testbed/probe.hpp"

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
                          const std::vector<std::uint16_t>& ports) {
    std::vector<std::string> argv{std::string(test_server_path), "--name", std::string(name)};
    for (const auto port : ports) {
        argv.emplace_back("--port");
        argv.push_back(std::to_string(port));
    }
    Process server = ns.spawn(argv);
    server.expect_line("ready", server_start_timeout);
    return server;
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
