// The health endpoints without a kernel: readiness follows the first full
// sync, /status carries the source and last sync, /metrics the counters, and
// a bad address is refused by name.
#include <gtest/gtest.h>

#include "kpr/k8s/api/api_client.hpp"
#include "kpr/runtime/health_server.hpp"

namespace kpr::runtime {
namespace {

struct Answer {
    long status;
    std::string body;
};

Answer get(int port, std::string_view path) {
    k8s::api::ApiConfig config;
    config.server = fmt::format("http://127.0.0.1:{}", port);
    k8s::api::ApiClient client(config);
    auto r = client.get(path, std::chrono::seconds(2));
    return {r.status, r.body};
}

TEST(HealthServer, ReadyAfterTheFirstFullSyncWithStatusAndMetrics) {
    sync::SyncCounters counters;
    AgentStatus status("files /etc/kpr/objects", counters);
    status.set_source_details([] { return std::string("services: listed resourceVersion=7\n"); });
    // Port 0 is refused: the agent's health address must be one a probe can name.
    EXPECT_THROW(HealthServer("127.0.0.1:0", status), Error);
    int port = 0;
    std::optional<HealthServer> server;
    for (port = 20000 + ::getpid() % 20000; !server; ++port) {
        try {
            server.emplace(fmt::format("127.0.0.1:{}", port), status);
        } catch (const Error&) {
        }
    }
    --port;
    EXPECT_EQ(get(port, "/healthz").status, 200);
    EXPECT_EQ(get(port, "/readyz").status, 503);
    EXPECT_NE(get(port, "/status").body.find("ready: no"), std::string::npos);

    counters.received(3);
    counters.synced(false, {sync::Clock::now()}, sync::Clock::now(), std::chrono::milliseconds(1));
    status.synced({1, 4, 0, false, std::chrono::system_clock::now()});
    EXPECT_EQ(get(port, "/readyz").status, 503) << "an incremental sync is not the first full one";
    status.synced({2, 4, 0, true, std::chrono::system_clock::now()});
    EXPECT_EQ(get(port, "/readyz").status, 200);
    const auto report = get(port, "/status").body;
    EXPECT_NE(report.find("source: files /etc/kpr/objects"), std::string::npos) << report;
    EXPECT_NE(report.find("generation=2 frontends=4 problems=0 (full)"), std::string::npos) << report;
    EXPECT_NE(report.find("services: listed resourceVersion=7"), std::string::npos) << report;
    EXPECT_NE(report.find("events: received=3 applied=1 queued=2"), std::string::npos) << report;
    const auto metrics = get(port, "/metrics").body;
    EXPECT_NE(metrics.find("kpr_sync_events_received_total 3\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("kpr_sync_queue_depth 2\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("kpr_sync_incremental_syncs_total 1\n"), std::string::npos) << metrics;

    // With a TC data path, its lines join both.
    status.set_pod_datapath([] { return std::string("pod policy: endpoints=2\n"); },
                            [] { return std::string("kpr_drops_total{reason=\"policy_denied_ingress\"} 5\n"); });
    EXPECT_NE(get(port, "/status").body.find("pod policy: endpoints=2\n"), std::string::npos);
    const auto with_pods = get(port, "/metrics").body;
    EXPECT_NE(with_pods.find("kpr_sync_events_received_total 3\n"), std::string::npos) << with_pods;
    EXPECT_NE(with_pods.find("kpr_drops_total{reason=\"policy_denied_ingress\"} 5\n"), std::string::npos) << with_pods;
}

TEST(HealthServer, AnAddressThatIsNotHostPortIsRefusedByName) {
    for (const char* bad : {"localhost", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"}) {
        try {
            split_host_port(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(split_host_port("[::1]:10256"), (std::pair<std::string, int>{"::1", 10256}));
}

} // namespace
} // namespace kpr::runtime
