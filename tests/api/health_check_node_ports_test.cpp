// The healthCheckNodePort listeners without a kernel, on 127.0.0.1: 200 with
// the local endpoint count while there is one, 503 at zero, counts changing
// in place, listeners closing when their Service goes, and a port already
// taken reported by name and tried again.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kpr/k8s/api/api_client.hpp"
#include "kpr/runtime/health_check_node_ports.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {
namespace {

struct Answer {
    long status;
    std::string body;
    std::string transport;
};

Answer get(std::uint16_t port) {
    k8s::api::ApiConfig config;
    config.server = fmt::format("http://127.0.0.1:{}", port);
    k8s::api::ApiClient client(config);
    auto r = client.get("/", std::chrono::seconds(2));
    return {r.status, r.body, r.transport};
}

// A port on 127.0.0.1 nothing listens on now: the kernel's pick, released.
std::uint16_t free_port() {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("no free port");
    return ntohs(a.sin_port);
}

const k8s::ObjectKey web{"Service", "shop", "web"};

TEST(HealthCheckNodePorts, AnswersWithTheLocalCountAsEndpointsMove) {
    HealthCheckNodePorts servers({*net::Address::parse("127.0.0.1")});
    const auto port = free_port();
    EXPECT_EQ(servers.update({{web, port, 2}}), std::vector<std::string>{});
    EXPECT_EQ(servers.listening(), 1u);
    auto a = get(port);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, R"({"service":{"namespace":"shop","name":"web"},"localEndpoints":2,"serviceProxyHealthy":true})");

    servers.update({{web, port, 0}});
    a = get(port);
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.body, R"({"service":{"namespace":"shop","name":"web"},"localEndpoints":0,"serviceProxyHealthy":true})");

    servers.update({{web, port, 1}});
    EXPECT_EQ(get(port).status, 200);

    servers.update({});
    EXPECT_EQ(servers.listening(), 0u);
    EXPECT_EQ(get(port).status, 0) << "the listener closes with its Service";
}

TEST(HealthCheckNodePorts, APortTakenIsReportedAndTriedAgain) {
    UniqueFd taken(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(taken.get(), 1), 0);
    ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    const auto port = ntohs(a.sin_port);

    HealthCheckNodePorts servers({*net::Address::parse("127.0.0.1")});
    EXPECT_EQ(servers.update({{web, port, 1}}),
              std::vector<std::string>{fmt::format("healthCheckNodePort {0}: cannot listen on 127.0.0.1:{0}", port)});
    EXPECT_EQ(servers.listening(), 0u);
    taken = UniqueFd();
    EXPECT_EQ(servers.update({{web, port, 1}}), std::vector<std::string>{});
    EXPECT_EQ(get(port).status, 200);
}

} // namespace
} // namespace kpr::runtime
