// Parsers of the north-south probe output.
#include "testbed/north_south_probe.hpp"

#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace kpr::testbed {

BackendAnswer split_answer(std::string_view reply) {
    const auto at = reply.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == reply.size())
        throw std::runtime_error(fmt::format("\"{}\" is not a \"<name>@<client address>\" answer", reply));
    return {std::string(reply.substr(0, at)), std::string(reply.substr(at + 1))};
}

FlowReport parse_flow_report(std::string_view output) {
    FlowReport report;
    report.output = std::string(output);
    std::istringstream lines(report.output);
    bool done = false;
    for (std::string line; std::getline(lines, line);) {
        if (line == "done") {
            done = true;
            continue;
        }
        std::istringstream fields(line);
        std::string key, verdict, detail;
        unsigned port = 0;
        fields >> key >> port >> verdict >> detail;
        if (key != "flow" || port == 0 || port > 65535 || detail.empty() ||
            (verdict != "ok" && verdict != "error"))
            throw std::runtime_error(fmt::format("unexpected line \"{}\" in udp-flows output:\n{}", line, output));
        const auto source_port = static_cast<std::uint16_t>(port);
        if (verdict == "ok") {
            report.flows[source_port] = split_answer(detail);
        } else {
            report.flows[source_port] = std::nullopt;
            ++report.errors[detail];
        }
    }
    if (!done)
        throw std::runtime_error(fmt::format("udp-flows output has no \"done\":\n{}", output));
    return report;
}

HttpAnswer parse_http_answer(std::string_view output) {
    std::istringstream fields{std::string(output)};
    std::string key;
    fields >> key;
    HttpAnswer answer;
    if (key == "http") {
        fields >> answer.status;
        std::getline(fields >> std::ws, answer.body);
        if (answer.status >= 100)
            return answer;
    } else if (key == "error") {
        fields >> answer.body;
        return answer;
    }
    throw std::runtime_error(fmt::format("unexpected http-get output \"{}\"", output));
}

} // namespace kpr::testbed
