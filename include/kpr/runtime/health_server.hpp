// The agent's health endpoints, served on a loopback address (the DaemonSet
// probes 127.0.0.1 on the host network):
//   /healthz  200 while the agent runs (liveness)
//   /readyz   200 once the first full sync is done, 503 before (readiness)
//   /status   the AgentStatus report, which `kpr-agent status` prints
//   /metrics  the sync counters (and the TC data path's) in the Prometheus text format
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

#include <fmt/format.h>

#include "kpr/runtime/agent_status.hpp"
#include "kpr/runtime/error.hpp"

namespace kpr::runtime {

// "127.0.0.1:10256" or "[::1]:10256" split into host and port; throws a
// runtime::Error naming the text otherwise.
inline std::pair<std::string, int> split_host_port(const std::string& address) {
    const auto colon = address.rfind(':');
    int port = 0;
    if (colon != std::string::npos && colon + 1 < address.size())
        try {
            std::size_t used = 0;
            port = std::stoi(address.substr(colon + 1), &used);
            if (used != address.size() - colon - 1)
                port = 0;
        } catch (const std::exception&) {
            port = 0;
        }
    if (port <= 0 || port > 65535)
        throw Error(fmt::format("{:?} is not HOST:PORT", address));
    std::string host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, port};
}

class HealthServer {
  public:
    explicit HealthServer(const std::string& address, const AgentStatus& status) {
        server_.Get("/healthz", [](const httplib::Request&, httplib::Response& r) { r.set_content("ok\n", "text/plain"); });
        server_.Get("/readyz", [&status](const httplib::Request&, httplib::Response& r) {
            const bool ready = status.ready();
            r.status = ready ? 200 : 503;
            r.set_content(ready ? "ready\n" : "not ready: the first full sync has not happened yet\n", "text/plain");
        });
        server_.Get("/status", [&status](const httplib::Request&, httplib::Response& r) {
            r.set_content(status.report(), "text/plain");
        });
        server_.Get("/metrics", [&status](const httplib::Request&, httplib::Response& r) {
            r.set_content(status.metrics(), "text/plain; version=0.0.4");
        });
        const auto [host, port] = split_host_port(address);
        if (!server_.bind_to_port(host, port))
            throw Error(fmt::format("health endpoints: cannot listen on {}", address));
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }

    HealthServer(const HealthServer&) = delete;
    HealthServer& operator=(const HealthServer&) = delete;

    ~HealthServer() {
        server_.stop();
        thread_.join();
    }

  private:
    httplib::Server server_;
    std::thread thread_;
};

} // namespace kpr::runtime
