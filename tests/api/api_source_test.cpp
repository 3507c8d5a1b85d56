// The API source: objects from the stand-in decode to exactly what the file
// source makes of the same objects, bursts coalesce into one pending change
// per Service, a bad object keeps its previous version, and a relist that
// finds nothing new reports no change.
#include <gtest/gtest.h>

#include "apiserver/k8s_json.hpp"
#include "kpr/k8s/api/api_source.hpp"
#include "kpr/k8s/yaml_decode.hpp"
#include "watch_test_support.hpp"

namespace kpr::testbed::apiserver {
namespace {

using namespace std::chrono_literals;
namespace api = kpr::k8s::api;

const ServiceSpec web{"web", {"10.96.0.10", "fd00:96::10"}, {{"http", 80, "8080"}, {"dns", 53, "dns", "UDP"}}, ""};

EndpointSliceSpec web_slice(int ready_count) {
    EndpointSliceSpec s{"web-abc", "web", "IPv4", {{"http", 8080}, {"dns", 5353, "UDP"}}, {}};
    for (int i = 0; i < 4; ++i)
        s.endpoints.push_back({fmt::format("10.244.0.{}", i + 1), i < ready_count, true, i >= ready_count});
    return s;
}

class ApiSourceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        server_.emplace(test_certificates());
        kubeconfig_ = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-kubeconfig", ::getpid());
        server_->write_kubeconfig(kubeconfig_);
    }

    void start(bool with_policy_objects = false) {
        api::ReflectorOptions options;
        options.initial_backoff = 20ms;
        source_.emplace(api::load_kubeconfig(kubeconfig_), options, log_.fn(), counters_, with_policy_objects);
        ASSERT_TRUE(eventually([&] { return source_->synced(); })) << log_.text();
    }

    k8s::ClusterState state() {
        return source_->with_changes([](const k8s::ClusterState& s, const sync::PendingChanges&) { return s; });
    }
    sync::PendingChanges take() {
        return source_->with_changes([](const k8s::ClusterState&, const sync::PendingChanges& c) { return c; });
    }

    std::optional<FakeApiServer> server_;
    std::filesystem::path kubeconfig_;
    CapturedLog log_;
    sync::SyncCounters counters_;
    std::optional<api::ApiSource> source_;
};

TEST_F(ApiSourceTest, DecodesToWhatTheFileSourceMakesOfTheSameObjects) {
    server_->put("services", service_json(web));
    server_->put("endpointslices", endpoint_slice_json(web_slice(3)));
    start();
    // The same JSON text, read by the file source's YAML parser.
    const auto as_file = [](std::string_view kind, std::string_view version, const std::string& json) {
        return fmt::format(R"({{"kind":"{}","apiVersion":"{}",{})", kind, version, json.substr(1)) + "\n";
    };
    const auto from_files = k8s::decode_yaml(
        yaml_documents({as_file("Service", "v1", service_json(web)),
                        as_file("EndpointSlice", "discovery.k8s.io/v1", endpoint_slice_json(web_slice(3)))}),
        "objects.json");
    ASSERT_TRUE(from_files.errors.empty()) << from_files.errors.front().str();
    const auto s = state();
    ASSERT_EQ(s.services.size(), 1u);
    ASSERT_EQ(s.endpoint_slices.size(), 1u);
    EXPECT_EQ(s.services.begin()->second, from_files.services.front());
    EXPECT_EQ(s.endpoint_slices.begin()->second, from_files.endpoint_slices.front());
    EXPECT_TRUE(log_.text().find("keeps its previous") == std::string::npos) << log_.text();
}

TEST_F(ApiSourceTest, ABurstOfSliceChangesIsOnePendingServiceWithEveryArrivalCounted) {
    server_->put("services", service_json(web));
    start();
    take();
    for (int i = 0; i < 50; ++i)
        server_->put("endpointslices", endpoint_slice_json(web_slice(i % 4)));
    ASSERT_TRUE(eventually([&] { return counters_.snapshot().events_received >= 51; })) << log_.text();
    // The two lists count one event each (one changed something), the updates one each.
    const auto changes = take();
    EXPECT_FALSE(changes.everything);
    EXPECT_EQ(changes.services, (std::set<sync::ServiceName>{{"default", "web"}}));
    EXPECT_EQ(changes.arrivals.size(), 50u);
    EXPECT_EQ(counters_.snapshot().queue_depth, 51u) << "the services list and 50 slice events wait";
}

TEST_F(ApiSourceTest, AnInvalidObjectKeepsItsPreviousVersionAndNamesTheField) {
    server_->put("services", service_json(web));
    start();
    auto broken = web;
    broken.ports.front().port = 70000;
    server_->put("services", service_json(broken));
    ASSERT_TRUE(log_.wait_for("spec.ports[0].port: 70000 is out of range")) << log_.text();
    EXPECT_TRUE(log_.contains("API /api/v1/services: Service default/web")) << log_.text();
    EXPECT_EQ(state().services.begin()->second.ports.front().port, 80);

    // Also through a relist.
    server_->inject("services", EventFault::gone);
    ASSERT_TRUE(eventually([&] { return source_->reflectors().front()->counters().lists.load() == 2; })) << log_.text();
    EXPECT_EQ(state().services.begin()->second.ports.front().port, 80);
}

TEST_F(ApiSourceTest, ARelistThatFindsNothingNewReportsNoChange) {
    server_->put("services", service_json(web));
    server_->put("endpointslices", endpoint_slice_json(web_slice(4)));
    start();
    take();
    server_->inject("services", EventFault::gone);
    ASSERT_TRUE(eventually([&] { return source_->reflectors().front()->counters().lists.load() == 2; })) << log_.text();
    EXPECT_TRUE(take().empty());
    server_->remove("endpointslices", "default", "web-abc");
    ASSERT_TRUE(eventually([&] { return state().endpoint_slices.empty(); }));
}

TEST_F(ApiSourceTest, WithTheTcDataPathPodsNamespacesAndNetworkPoliciesAreFollowedToo) {
    server_->put("namespaces", R"({"metadata":{"name":"shop","labels":{"team":"red"}}})");
    server_->put("pods", R"({"metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},)"
                         R"("spec":{"nodeName":"node-1"},"status":{"phase":"Running","podIP":"10.244.0.10"}})");
    server_->put("networkpolicies", R"({"metadata":{"name":"deny","namespace":"shop"},"spec":{"podSelector":{}}})");
    start(true);
    auto s = state();
    ASSERT_EQ(s.pods.size(), 1u);
    EXPECT_EQ(s.pods.begin()->second.node_name, "node-1");
    ASSERT_EQ(s.namespaces.size(), 1u);
    EXPECT_EQ(s.namespaces.begin()->first, (k8s::ObjectKey{"Namespace", "", "shop"}));
    ASSERT_EQ(s.network_policies.size(), 1u);
    take();

    server_->put("pods", R"({"metadata":{"name":"web","namespace":"shop","labels":{"app":"shop"}},)"
                         R"("spec":{"nodeName":"node-1"},"status":{"phase":"Running","podIP":"10.244.0.10"}})");
    // Looked at without taking the pending changes.
    ASSERT_TRUE(eventually([&] {
        return source_->with_state([](const k8s::ClusterState& s) {
            return s.pods.begin()->second.meta.labels.at("app") == "shop";
        });
    }));
    const auto changes = take();
    EXPECT_TRUE(changes.policy_objects);
    EXPECT_TRUE(changes.services.empty());
    // A cluster-scoped object's deletion finds it under its own key.
    server_->remove("namespaces", "", "shop");
    ASSERT_TRUE(eventually([&] { return state().namespaces.empty(); })) << log_.text();
}

TEST_F(ApiSourceTest, WithoutTheTcDataPathOnlyServicesAndSlicesAreRequested) {
    start();
    EXPECT_EQ(server_->count_requests("/pods"), 0u);
    EXPECT_EQ(server_->count_requests("/namespaces"), 0u);
    EXPECT_EQ(server_->count_requests("/networkpolicies"), 0u);
    EXPECT_GT(server_->count_requests("/services"), 0u);
}

} // namespace
} // namespace kpr::testbed::apiserver
