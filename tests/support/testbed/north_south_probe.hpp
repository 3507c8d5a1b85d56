// Reading what the probes print in the north-south tests: a backend's
// "<name>@<client address>" answer, the udp-flows mode's backend per source
// port, and the http-get mode's status and body.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kpr::testbed {

// A reply of kpr-test-server --report-client.
struct BackendAnswer {
    std::string backend; // the server's --name
    std::string client;  // the source address the backend saw
};

// Splits "<name>@<address>"; throws std::runtime_error on anything else.
BackendAnswer split_answer(std::string_view reply);

// The udp-flows mode's report: per source port, the answer, or nullopt
// when that flow failed (the errno name is in errors).
struct FlowReport {
    std::map<std::uint16_t, std::optional<BackendAnswer>> flows;
    std::map<std::string, int> errors;
    std::string output;
};

// Throws std::runtime_error when a line is malformed or "done" is missing.
FlowReport parse_flow_report(std::string_view output);

// The http-get mode's answer: status 0 and the errno name in body when no
// response arrived.
struct HttpAnswer {
    int status = 0;
    std::string body;
};

// Throws std::runtime_error on a line that is neither "http ..." nor "error ...".
HttpAnswer parse_http_answer(std::string_view output);

} // namespace kpr::testbed
