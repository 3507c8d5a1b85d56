// The NetworkPolicy matrix in this kernel: the upstream e2e model cluster
// (policy_matrix/model_cluster.hpp) probed pod to pod with real TCP and UDP
// (policy_matrix/reachability.hpp). The harness is tested on its own first:
// with no data path every probe is answered by the right server, and a
// silent drop shows up as a timeout in the observed table. Then kpr-agent
// enforces each upstream case (policy_matrix/upstream_cases.hpp) on the
// model and the observed matrix must equal the reference's; and policies
// change under established TCP connections and UDP flows.
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "policy_matrix/model_cluster.hpp"
#include "policy_matrix/reachability.hpp"
#include "policy_matrix/upstream_cases.hpp"
#include "policy_reference.hpp"
#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/privileges.hpp"

namespace kpr::testbed::netpol {
namespace {

using namespace std::chrono_literals;

// A long-lived flow between two model pods on port 80: one TCP connection
// or one connected UDP socket (kpr-test-client hold), pinged on demand; a
// ping that is dropped fails after a second.
class Flow {
  public:
    Flow(const ModelPod& from, const ModelPod& to, const std::string& protocol)
        : what_(fmt::format("{} {} -> {}", protocol, from.key(), to.key())),
          client_(ProbeClient(from.pod->ns)
                      .spawn({"hold", "--proto", protocol, "--to", to.pod->ipv4, "--port", "80",
                              "--timeout-ms", "1000"})) {
        const std::string connected = client_.expect_line("", 5s);
        if (!connected.starts_with("connected "))
            throw std::runtime_error(fmt::format("{}: {}", what_, connected));
    }
    // "pong <server>" or "error <errno name>".
    std::string ping() {
        client_.write_line("ping");
        const auto line = client_.read_line(5s);
        if (!line)
            return "no answer from the client";
        return line->substr(0, line->find(" peer="));
    }

    const std::string& what() const { return what_; }

  private:
    std::string what_;
    Process client_;
};

class MatrixHarness : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        cluster_.emplace("pmh");
    }

    std::optional<ModelCluster> cluster_;
};

TEST_F(MatrixHarness, WithoutTheDataPathEveryProbeIsAnsweredByItsTarget) {
    const auto kinds = model_probe_kinds();
    const auto& pods = cluster_->pods();
    ASSERT_EQ(kinds.size(), 8u);
    ASSERT_EQ(pods.size(), 9u);
    const Observation observed = observe(*cluster_, deny_timeout);
    for (std::size_t kind = 0; kind < kinds.size(); ++kind)
        for (std::size_t from = 0; from < pods.size(); ++from)
            for (std::size_t to = 0; to < pods.size(); ++to) {
                const ReachOutcome& o = observed[kind][from][to];
                EXPECT_TRUE(o.reached && o.detail == pods[to].key())
                    << pods[from].key() << " -> " << pods[to].key() << " " << kinds[kind].str()
                    << ": " << o.detail;
            }

    // With no policy the reference allows everything, and so do the probes.
    const MatrixCheck check = check_matrix(*cluster_, cluster_->input(""));
    EXPECT_EQ(check.probes, 8u * 9u * 9u);
    EXPECT_EQ(check.expected_denied, 0u);
    EXPECT_EQ(check.mismatches, 0u) << check.report;
    EXPECT_EQ(check.report, "");
}

// A blackhole route on the node drops everything to x/b without a word, as
// a denying data path does: the probes to x/b and their answers from x/b
// time out, and the report shows both tables and names each pair.
TEST_F(MatrixHarness, ASilentDropIsObservedAsATimeoutAndReported) {
    const ModelPod& dropped = cluster_->pod("x/b");
    cluster_->topology().node().ip({"route", "replace", "blackhole", dropped.pod->ipv4 + "/32"});
    cluster_->topology().node().ip(
        {"-6", "route", "replace", "blackhole", dropped.pod->ipv6 + "/128"});

    const auto kinds = model_probe_kinds();
    const auto& pods = cluster_->pods();
    const Observation observed = observe(*cluster_, deny_timeout);
    for (std::size_t kind = 0; kind < kinds.size(); ++kind)
        for (std::size_t from = 0; from < pods.size(); ++from)
            for (std::size_t to = 0; to < pods.size(); ++to) {
                const bool involves_dropped = &pods[from] == &dropped || &pods[to] == &dropped;
                const bool through_node = from != to;
                const ReachOutcome& o = observed[kind][from][to];
                EXPECT_EQ(o.reached, !(involves_dropped && through_node))
                    << pods[from].key() << " -> " << pods[to].key() << " " << kinds[kind].str()
                    << ": " << o.detail;
                if (!o.reached) {
                    EXPECT_EQ(o.detail, "ETIMEDOUT") << pods[from].key() << " -> " << pods[to].key();
                }
            }

    const MatrixCheck check = check_matrix(*cluster_, cluster_->input(""));
    // Eight peers each way, for each of the eight kinds.
    EXPECT_EQ(check.mismatches, 8u * 2u * 8u) << check.report;
    EXPECT_EQ(check.confirmed_late, 0u);
    EXPECT_NE(check.report.find("TCP/80 IPv4: expected (reference)"), std::string::npos)
        << check.report;
    EXPECT_NE(check.report.find("UDP/81 IPv6: observed (probes)"), std::string::npos)
        << check.report;
    EXPECT_NE(check.report.find("x/a -> x/b TCP/80 IPv4: expected allow, observed deny (ETIMEDOUT)"),
              std::string::npos)
        << check.report;
    EXPECT_NE(check.report.find("x/b -> z/c UDP/81 IPv6: expected allow, observed deny (ETIMEDOUT)"),
              std::string::npos)
        << check.report;
}

// The same for flows: a blackhole route under established flows fails
// their pings with ETIMEDOUT, and once the route is back the UDP flow
// answers again on its socket.
TEST_F(MatrixHarness, FlowsSeeASilentDropAsATimeoutAndUdpResumesAfterIt) {
    const ModelPod& server = cluster_->pod("y/b");
    Flow tcp(cluster_->pod("x/a"), server, "tcp"), udp(cluster_->pod("x/a"), server, "udp");
    EXPECT_EQ(tcp.ping(), "pong y/b") << tcp.what();
    EXPECT_EQ(udp.ping(), "pong y/b") << udp.what();

    const NetNs& node = cluster_->topology().node();
    node.ip({"route", "replace", "blackhole", server.pod->ipv4 + "/32"});
    EXPECT_EQ(tcp.ping(), "error ETIMEDOUT") << tcp.what();
    EXPECT_EQ(udp.ping(), "error ETIMEDOUT") << udp.what();

    node.ip({"route", "replace", server.pod->ipv4 + "/32", "dev", server.pod->node_interface});
    EXPECT_EQ(udp.ping(), "pong y/b") << udp.what();
}

// --- the upstream cases, enforced by kpr ---

// The model cluster with kpr-agent enforcing policy on it: built once for
// every test below, each of which rewrites the whole cluster file.
class PolicyEnvironment {
  public:
    PolicyEnvironment()
        : cluster_("pm"), cgroup_("pm"),
          agent_("pm", KPR_POLICY_MATRIX_OBJECT, cgroup_.path(),
                 PodPolicy{KPR_POLICY_MATRIX_TC_OBJECT, &cluster_.topology().node(),
                           std::string(ModelCluster::node_name), {}}) {
        agent_.write("cluster.yaml", cluster_.objects_yaml());
        agent_.start();
    }

    ModelCluster& cluster() { return cluster_; }

    // Writes the model's objects (with the labels they have now) and these
    // policies as the one file the agent reads, and waits for the sync that
    // follows: from then on the maps hold them.
    void apply(const std::string& policies) {
        const std::string synced = agent_.apply("cluster.yaml", cluster_.objects_yaml() + policies);
        EXPECT_EQ(sync_field(synced, "problems"), 0) << synced;
    }

    // The data path's drop counters by reason, from `kpr-agent show`'s
    // "drops <reason>: <packets> (...)" lines.
    std::map<std::string, long> drops() const {
        std::map<std::string, long> out;
        std::istringstream lines(agent_.show());
        for (std::string line; std::getline(lines, line);)
            if (line.starts_with("drops ")) {
                const auto colon = line.find(':');
                out[line.substr(6, colon - 6)] = std::stol(line.substr(colon + 1));
            }
        return out;
    }

    // The matrix against the reference's verdicts on the same objects.
    MatrixCheck check(const std::string& policies) const {
        return check_matrix(cluster_, cluster_.input(policies));
    }

  private:
    ModelCluster cluster_;
    TestCgroup cgroup_;
    KprAgent agent_;
};

// Holds the one PolicyEnvironment of this process, made on first use and
// taken down after the last test.
class SharedPolicyEnvironment : public ::testing::Environment {
  public:
    static PolicyEnvironment& get() {
        if (!environment_) {
            sweep_debris();
            environment_ = std::make_unique<PolicyEnvironment>();
        }
        return *environment_;
    }
    void TearDown() override { environment_.reset(); }

  private:
    static inline std::unique_ptr<PolicyEnvironment> environment_;
};

[[maybe_unused]] const auto* const shared_environment =
    ::testing::AddGlobalTestEnvironment(new SharedPolicyEnvironment);


class PolicyMatrix : public ::testing::TestWithParam<MatrixCase> {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        environment_ = &SharedPolicyEnvironment::get();
    }
    PolicyEnvironment* environment_ = nullptr;
};

// How much each drop counter grew from before to after.
std::map<std::string, long> drops_between(const std::map<std::string, long>& before,
                                          const std::map<std::string, long>& after) {
    std::map<std::string, long> grown;
    for (const auto& [reason, packets] : after)
        grown[reason] = packets - (before.contains(reason) ? before.at(reason) : 0);
    return grown;
}

TEST_P(PolicyMatrix, ObservedEqualsExpected) {
    const MatrixCase& c = GetParam();
    ModelCluster& cluster = environment_->cluster();
    cluster.reset_labels();
    c.relabel(cluster);
    const std::string policies = c.policies(cluster);
    const auto drops_before = environment_->drops();
    environment_->apply(policies);
    const MatrixCheck check = environment_->check(policies);
    EXPECT_EQ(check.mismatches, 0u) << c.name << ":\n" << check.report;

    // The model's traffic is well formed: every packet the data path drops,
    // it drops for policy, and a case with denies counts some.
    const auto dropped = drops_between(drops_before, environment_->drops());
    ASSERT_TRUE(dropped.contains("policy_denied_ingress") && dropped.contains("policy_denied_egress"))
        << "kpr-agent show lists no policy drop counters";
    for (const auto& [reason, packets] : dropped) {
        if (!reason.starts_with("policy_")) {
            EXPECT_EQ(packets, 0) << reason;
        }
    }
    if (check.expected_denied > 0) {
        EXPECT_GT(dropped.at("policy_denied_ingress") + dropped.at("policy_denied_egress"), 0);
    }
    // Each case both allows and denies between pods, so a data path that
    // does either everywhere fails it; but for these two, which allow every
    // pod (AllowFromAllNamespaces denies only addresses that are no pod's).
    const std::set<std::string> allow_every_pod = {"NoPolicy", "AllowFromAllNamespaces"};
    EXPECT_GT(check.expected_allowed, 0u);
    if (allow_every_pod.contains(c.name)) {
        EXPECT_EQ(check.expected_denied, 0u);
    } else {
        EXPECT_GT(check.expected_denied, 0u);
    }
    if (check.confirmed_late > 0)
        std::cerr << c.name << ": " << check.confirmed_late
                  << " expected allows passed only on the confirming round\n";
}

INSTANTIATE_TEST_SUITE_P(Upstream, PolicyMatrix, ::testing::ValuesIn(upstream_cases()),
                         [](const ::testing::TestParamInfo<MatrixCase>& info) {
                             return info.param.name;
                         });

// --- policy added and removed while traffic flows ---

class PolicyChange : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        environment_ = &SharedPolicyEnvironment::get();
        environment_->cluster().reset_labels();
    }

    const ModelPod& pod(std::string_view key) const { return environment_->cluster().pod(key); }

    void expect_matrix(const std::string& policies) {
        const MatrixCheck check = environment_->check(policies);
        EXPECT_EQ(check.mismatches, 0u) << check.report;
    }

    PolicyEnvironment* environment_ = nullptr;
};

const std::string x_a_from_y_and_z = policy::testing::network_policy("x", "x-a-from-y-z", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    - namespaceSelector: {matchLabels: {ns: z}}
)");
const std::string x_a_from_z = policy::testing::network_policy("x", "x-a-from-y-z", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: z}}
)");

// An allow removed under established flows stops them at the next sync (the
// endpoint's policy revision moves, their conntrack entries are decided
// again and deleted) while flows still allowed carry on; added back, new
// connections pass and the UDP flow resumes on its socket.
TEST_F(PolicyChange, AllowRemovedStopsEstablishedFlowsAndAddedBackRestoresThem) {
    environment_->apply(x_a_from_y_and_z);
    Flow y_tcp(pod("y/b"), pod("x/a"), "tcp"), y_udp(pod("y/b"), pod("x/a"), "udp");
    Flow z_tcp(pod("z/c"), pod("x/a"), "tcp"), z_udp(pod("z/c"), pod("x/a"), "udp");
    for (Flow* flow : {&y_tcp, &y_udp, &z_tcp, &z_udp})
        EXPECT_EQ(flow->ping(), "pong x/a") << flow->what() << ", before the change";

    const auto drops_before = environment_->drops();
    environment_->apply(x_a_from_z);
    EXPECT_EQ(y_tcp.ping(), "error ETIMEDOUT") << y_tcp.what() << ", its allow removed";
    EXPECT_EQ(y_udp.ping(), "error ETIMEDOUT") << y_udp.what() << ", its allow removed";
    // Their conntrack entries were decided again under the new revision and
    // refused: the first packet of each is a revoked connection.
    EXPECT_GT(drops_between(drops_before, environment_->drops())["policy_revoked"], 0);
    EXPECT_EQ(z_tcp.ping(), "pong x/a") << z_tcp.what() << ", still allowed";
    EXPECT_EQ(z_udp.ping(), "pong x/a") << z_udp.what() << ", still allowed";
    expect_matrix(x_a_from_z);

    environment_->apply(x_a_from_y_and_z);
    EXPECT_EQ(y_udp.ping(), "pong x/a") << y_udp.what() << ", its allow back";
    Flow y_tcp_again(pod("y/b"), pod("x/a"), "tcp");
    EXPECT_EQ(y_tcp_again.ping(), "pong x/a") << y_tcp_again.what() << ", its allow back";
    EXPECT_EQ(z_tcp.ping(), "pong x/a") << z_tcp.what() << ", allowed throughout";
    EXPECT_EQ(z_udp.ping(), "pong x/a") << z_udp.what() << ", allowed throughout";
    expect_matrix(x_a_from_y_and_z);
}

// A policy that isolates a pod, added under established flows, stops them
// at the next sync; removed, they pass again (the UDP flow on its socket).
TEST_F(PolicyChange, IsolatingPolicyAddedStopsEstablishedFlowsAndRemovedRestoresThem) {
    const std::string deny_ingress = policy::testing::network_policy("x", "deny-ingress", R"(
  podSelector: {}
  policyTypes: [Ingress]
)");
    environment_->apply("");
    Flow tcp(pod("y/b"), pod("x/a"), "tcp"), udp(pod("y/b"), pod("x/a"), "udp");
    Flow unaffected(pod("x/a"), pod("y/b"), "udp");
    for (Flow* flow : {&tcp, &udp, &unaffected})
        EXPECT_EQ(flow->ping().substr(0, 4), "pong") << flow->what() << ", before the change";

    environment_->apply(deny_ingress);
    EXPECT_EQ(tcp.ping(), "error ETIMEDOUT") << tcp.what() << ", ingress now isolated";
    EXPECT_EQ(udp.ping(), "error ETIMEDOUT") << udp.what() << ", ingress now isolated";
    EXPECT_EQ(unaffected.ping(), "pong y/b") << unaffected.what() << ", egress not isolated";
    expect_matrix(deny_ingress);

    environment_->apply("");
    EXPECT_EQ(udp.ping(), "pong x/a") << udp.what() << ", the policy removed";
    Flow tcp_again(pod("y/b"), pod("x/a"), "tcp");
    EXPECT_EQ(tcp_again.ping(), "pong x/a") << tcp_again.what() << ", the policy removed";
    expect_matrix("");
}

} // namespace
} // namespace kpr::testbed::netpol
