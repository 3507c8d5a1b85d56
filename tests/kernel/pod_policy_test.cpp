// The agent's TC side end to end in a test bed node: kpr-agent, run in the
// node namespace with --tc-object, finds two pods' veths by their host
// routes, attaches the pod programs and programs the policy maps from Pod
// and NetworkPolicy files. A default-deny policy blocks a real TCP
// connection and removing it lets connections through again; a connection
// an allow admitted survives an agent SIGKILL and restart (which writes
// nothing, since nothing changed); removing that allow moves the policy
// revisions and denies new connections. A pod
// whose route appears after its Pod object is programmed when it does.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/k8s_yaml.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int server_port = 8080;

std::string pod_yaml(const std::string& name, const std::string& ipv4, const std::string& ipv6,
                     const std::string& app) {
    return testbed::pod_yaml({.name = name, .ipv4 = ipv4, .ipv6 = ipv6, .app = app, .http_port = server_port});
}

std::string pod_yaml(const Pod& pod, const std::string& app) { return pod_yaml(pod.name, pod.ipv4, pod.ipv6, app); }

// Every pod of the namespace isolated for ingress, nothing allowed.
const std::string default_deny = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: default
spec:
  podSelector: {}
  policyTypes: [Ingress]
)";

// The server admits the client on its http port.
const std::string allow_client = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-client
  namespace: default
spec:
  podSelector:
    matchLabels: {app: server}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: client}
    ports:
    - port: http
)";

class PodPolicyEnforcement : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        topology_.emplace("policy");
        client_ = &topology_->add_pod("client");
        server_ = &topology_->add_pod("server");
        echo_.emplace(start_echo_server(server_->ns, "server", {server_port}));
        cgroup_.emplace("policy");
        agent_.emplace("policy", fs::path(KPR_POLICY_SOCK_OBJECT), cgroup_->path(),
                       PodPolicy{fs::path(KPR_POLICY_TC_OBJECT), &topology_->node()});
        agent_->write("pods.yaml", yaml_documents({pod_yaml(*client_, "client"), pod_yaml(*server_, "server")}));
        const auto synced = agent_->start();
        ASSERT_EQ(sync_field(synced, "endpoints"), 2) << synced;
        ASSERT_EQ(sync_field(synced, "policy_problems"), 0) << synced;
        probe_.emplace(client_->ns);
    }

    int tcp(const std::string& to, int count) const {
        const auto r = probe_->report({"tcp", "--to", to, "--port", std::to_string(server_port), "--count",
                                       std::to_string(count)});
        return r.total_responses();
    }

    std::optional<Topology> topology_;
    const Pod* client_ = nullptr;
    const Pod* server_ = nullptr;
    std::optional<Process> echo_;
    std::optional<TestCgroup> cgroup_;
    std::optional<KprAgent> agent_;
    std::optional<ProbeClient> probe_;
};

TEST_F(PodPolicyEnforcement, DefaultDenyBlocksAndRemovingItLetsConnectionsThrough) {
    EXPECT_EQ(tcp(server_->ipv4, 3), 3) << "no policy selects the server: open";
    auto synced = agent_->apply("deny.yaml", default_deny);
    EXPECT_EQ(sync_field(synced, "policy_problems"), 0) << synced;
    EXPECT_EQ(tcp(server_->ipv4, 1), 0) << "default deny";
    EXPECT_EQ(tcp(server_->ipv6, 1), 0) << "default deny, IPv6";
    const auto shown = agent_->show();
    EXPECT_NE(shown.find("ingress=enforced"), std::string::npos) << shown;
    EXPECT_GT(shown_count(shown, "drops policy_denied_ingress: "), 0) << "the denials were counted\n" << shown;

    agent_->remove("deny.yaml");
    synced = agent_->next_sync();
    EXPECT_GT(sync_field(synced, "policy_removed"), 0) << synced;
    EXPECT_EQ(tcp(server_->ipv4, 3), 3);
    EXPECT_EQ(tcp(server_->ipv6, 3), 3);
}

TEST_F(PodPolicyEnforcement, AnAllowedConnectionSurvivesAnAgentKillAndRestartThatWritesNothing) {
    agent_->apply("deny.yaml", default_deny);
    agent_->apply("allow.yaml", allow_client);
    EXPECT_EQ(tcp(server_->ipv4, 3), 3) << "the allow admits the client";

    auto hold = probe_->spawn({"hold", "--to", server_->ipv4, "--port", std::to_string(server_port)});
    ASSERT_EQ(hold.expect_line("connected ", 5s).rfind("connected ", 0), 0u);
    const auto ping = [&] {
        hold.write_line("ping");
        return hold.read_line(5s).value_or("(no reply)");
    };
    const auto first = ping();
    ASSERT_EQ(first.rfind("pong ", 0), 0u) << first;

    agent_->kill();
    EXPECT_EQ(ping(), first) << "the programs and maps stay while the agent is down";
    const auto synced = agent_->start();
    EXPECT_EQ(sync_field(synced, "policy_written"), 0) << "a restart over the same input writes nothing\n" << synced;
    EXPECT_EQ(sync_field(synced, "policy_removed"), 0) << synced;
    EXPECT_EQ(sync_field(synced, "revisions_bumped"), 0) << synced;
    EXPECT_EQ(ping(), first) << "the established connection survived the restart";
    EXPECT_EQ(tcp(server_->ipv4, 3), 3);

    // Without the allow, new connections are denied and the endpoints'
    // revisions move, so the data path decides tracked ones again: the
    // connection held across the restart stops too.
    agent_->remove("allow.yaml");
    const auto revoked = agent_->next_sync();
    EXPECT_GT(sync_field(revoked, "revisions_bumped"), 0) << revoked;
    EXPECT_EQ(tcp(server_->ipv4, 1), 0);
    hold.write_line("ping");
    // No line within the wait, or the probe's own timeout error.
    const auto after = hold.read_line(2s).value_or("(no reply)");
    EXPECT_NE(after.rfind("pong ", 0), 0u) << "the held connection still answers: " << after;
}

TEST_F(PodPolicyEnforcement, APodWhoseRouteAppearsAfterItsPodObjectIsProgrammedWhenItDoes) {
    // The third pod of the topology gets 10.244.0.12; its Pod object comes first.
    auto synced = agent_->apply("late.yaml", pod_yaml("late", "10.244.0.12", "fd00:244::12", "late"));
    EXPECT_EQ(sync_field(synced, "waiting"), 1) << synced;
    EXPECT_EQ(sync_field(synced, "endpoints"), 2) << synced;
    const auto& late = topology_->add_pod("late");
    ASSERT_EQ(late.ipv4, "10.244.0.12");
    synced = agent_->next_sync();
    EXPECT_NE(synced.find(" source=routes "), std::string::npos) << synced;
    EXPECT_EQ(sync_field(synced, "endpoints"), 3) << synced;
    EXPECT_EQ(sync_field(synced, "waiting"), 0) << synced;
    EXPECT_NE(agent_->show().find("(" + late.node_interface + ")"), std::string::npos);
}

} // namespace
} // namespace kpr::testbed
