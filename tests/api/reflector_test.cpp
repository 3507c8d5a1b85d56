// The reflector against the API server stand-in: paginated lists, watches
// from the list's resourceVersion with bookmarks, every event type, all five
// resources, and each fault with the reconnect or relist it must cause, its
// log line, and nothing lost from what the sink holds.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "apiserver/k8s_json.hpp"
#include "kpr/k8s/api/reflector.hpp"
#include "kpr/k8s/api/resource.hpp"
#include "watch_test_support.hpp"

namespace kpr::testbed::apiserver {
namespace {

using namespace std::chrono_literals;
namespace api = kpr::k8s::api;

std::string service(const std::string& name, const std::string& ip) {
    return service_json({name, {ip}, {{"http", 80, "8080"}}, ""});
}

class ReflectorTest : public ::testing::Test {
  protected:
    void start(const api::Resource& resource, ServerOptions server_options = {}, api::ReflectorOptions options = fast()) {
        server_.emplace(test_certificates(), server_options);
        const auto kubeconfig = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-kubeconfig", ::getpid());
        server_->write_kubeconfig(kubeconfig);
        start_with(api::load_kubeconfig(kubeconfig), resource, options);
    }

    void start_with(const api::ApiConfig& config, const api::Resource& resource, api::ReflectorOptions options = fast()) {
        reflector_.emplace(config, resource, sink_, options, log_.fn());
        thread_ = std::thread([this] { reflector_->run(); });
    }

    static api::ReflectorOptions fast() {
        api::ReflectorOptions o;
        o.initial_backoff = 20ms;
        o.max_backoff = 200ms;
        o.page_size = 2;
        return o;
    }

    void TearDown() override {
        if (reflector_)
            reflector_->stop();
        if (thread_.joinable())
            thread_.join();
    }

    bool synced() {
        return eventually([&] { return reflector_->synced(); });
    }

    // Injects fault, then creates a Service: true once the sink has it.
    bool arrives_after(EventFault fault, const std::string& name, const std::string& ip) {
        server_->inject("services", fault);
        server_->put("services", service(name, ip));
        return eventually([&] { return sink_.has("default/" + name); });
    }

    std::optional<FakeApiServer> server_;
    RecordingSink sink_;
    CapturedLog log_;
    std::optional<api::Reflector> reflector_;
    std::thread thread_;
};

TEST_F(ReflectorTest, ListsInPagesThenWatchesFromTheListsResourceVersionWithBookmarks) {
    server_.emplace(test_certificates());
    for (int i = 0; i < 5; ++i)
        server_->put("services", service(fmt::format("s{}", i), fmt::format("10.96.0.{}", i + 1)));
    const auto listed_at = server_->resource_version();
    const auto kubeconfig = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-kubeconfig", ::getpid());
    server_->write_kubeconfig(kubeconfig);
    start_with(api::load_kubeconfig(kubeconfig), api::services);
    ASSERT_TRUE(synced()) << log_.text();
    EXPECT_EQ(sink_.objects().size(), 5u);
    EXPECT_EQ(server_->count_requests("limit=2"), 3u) << fmt::format("{}", fmt::join(server_->requests(), "\n"));
    EXPECT_EQ(server_->count_requests("continue=snap-"), 2u);
    ASSERT_TRUE(eventually([&] { return server_->count_requests("watch=1") > 0; }));
    EXPECT_EQ(server_->count_requests(fmt::format("resourceVersion={}", listed_at)), 1u);
    EXPECT_EQ(server_->count_requests("allowWatchBookmarks=true"), 1u);

    server_->put("services", service("s5", "10.96.0.6"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/s5"); }));
    const auto rv = server_->put("services", service("s1", "10.96.0.66"));
    ASSERT_TRUE(eventually([&] { return sink_.objects()["default/s1"] == std::to_string(rv); }));
    server_->remove("services", "default", "s0");
    ASSERT_TRUE(eventually([&] { return !sink_.has("default/s0"); }));
    server_->bookmark();
    ASSERT_TRUE(eventually([&] { return reflector_->counters().bookmarks.load() == 1; }));
    EXPECT_EQ(reflector_->resource_version(), std::to_string(server_->resource_version()));
    EXPECT_EQ(reflector_->counters().events.load(), 3u);
    EXPECT_EQ(reflector_->counters().failures.load(), 0u) << log_.text();
}

class EveryResource : public ReflectorTest, public ::testing::WithParamInterface<api::Resource> {};

TEST_P(EveryResource, IsListedAndWatched) {
    const api::Resource resource = GetParam();
    const auto object = [&](int i) {
        const std::string name = fmt::format("o{}", i);
        if (resource == api::services)
            return service(name, fmt::format("10.96.1.{}", i + 1));
        if (resource == api::endpoint_slices)
            return endpoint_slice_json({name, "web", "IPv4", {{"http", 8080}}, {{fmt::format("10.244.0.{}", i + 1)}}});
        if (resource == api::pods)
            return pod_json("default", name, "node-1", fmt::format("10.244.0.{}", i + 1), {{"app", "web"}});
        if (resource == api::namespaces)
            return namespace_json(name, {{"team", "a"}});
        if (resource == api::nodes)
            return fmt::format(R"({{"metadata":{{"name":"{}"}},"status":{{"addresses":[{{"type":"InternalIP",)"
                               R"("address":"192.168.0.{}"}}]}}}})",
                               name, i + 1);
        return network_policy_json("default", name);
    };
    const bool cluster_scoped = resource == api::namespaces || resource == api::nodes;
    const std::string prefix = cluster_scoped ? "/" : "default/";
    server_.emplace(test_certificates());
    for (int i = 0; i < 3; ++i)
        server_->put(resource.plural, object(i));
    const auto kubeconfig = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-kubeconfig", ::getpid());
    server_->write_kubeconfig(kubeconfig);
    start_with(api::load_kubeconfig(kubeconfig), resource);
    ASSERT_TRUE(synced()) << log_.text();
    EXPECT_EQ(sink_.objects().size(), 3u);
    EXPECT_GT(server_->count_requests(resource.collection_path() + "?"), 0u);
    server_->put(resource.plural, object(3));
    EXPECT_TRUE(eventually([&] { return sink_.has(prefix + "o3"); })) << log_.text();
    server_->remove(resource.plural, cluster_scoped ? "" : "default", "o1");
    EXPECT_TRUE(eventually([&] { return !sink_.has(prefix + "o1"); })) << log_.text();
}

INSTANTIATE_TEST_SUITE_P(Kinds, EveryResource, ::testing::ValuesIn(api::watchable_resources),
                         [](const auto& info) { return std::string(info.param.kind); });

TEST_F(ReflectorTest, PodsCanBeFilteredToOneNodeOnTheServer) {
    server_.emplace(test_certificates());
    server_->put("pods", pod_json("default", "here", "node-1", "10.244.0.1", {}));
    server_->put("pods", pod_json("default", "there", "node-2", "10.244.1.1", {}));
    const auto kubeconfig = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-kubeconfig", ::getpid());
    server_->write_kubeconfig(kubeconfig);
    auto options = fast();
    options.field_selector = "spec.nodeName=node-1";
    start_with(api::load_kubeconfig(kubeconfig), api::pods, options);
    ASSERT_TRUE(synced()) << log_.text();
    EXPECT_EQ(sink_.objects(), (std::map<std::string, std::string>{{"default/here", sink_.objects()["default/here"]}}));
    server_->put("pods", pod_json("default", "there-too", "node-2", "10.244.1.2", {}));
    server_->put("pods", pod_json("default", "here-too", "node-1", "10.244.0.2", {}));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/here-too"); }));
    EXPECT_FALSE(sink_.has("default/there-too"));
    EXPECT_GT(server_->count_requests("fieldSelector=spec.nodeName=node-1"), 1u);
}

TEST_F(ReflectorTest, AWatchFromACompactedResourceVersionRelistsAndAppliesTheDifference) {
    start(api::services);
    server_->put("services", service("keep", "10.96.0.1"));
    server_->put("services", service("drop", "10.96.0.2"));
    ASSERT_TRUE(eventually([&] { return sink_.objects().size() == 2; })) << log_.text();
    server_->stall_watches(300ms); // the changes below happen "while disconnected"
    server_->inject("services", EventFault::drop_mid_event);
    server_->remove("services", "default", "drop");
    server_->put("services", service("new", "10.96.0.3"));
    server_->compact();
    ASSERT_TRUE(eventually([&] { return reflector_->counters().relists_after_gone.load() == 1; })) << log_.text();
    EXPECT_TRUE(eventually([&] {
        const auto o = sink_.objects();
        return o.size() == 2 && o.contains("default/keep") && o.contains("default/new");
    })) << log_.text();
    EXPECT_TRUE(log_.contains("410")) << log_.text();
    EXPECT_TRUE(log_.contains("listing again")) << log_.text();
}

TEST_F(ReflectorTest, AnErrorEventWith410RelistsWithoutLosingObjects) {
    start(api::services);
    server_->put("services", service("a", "10.96.0.1"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/a"); }));
    server_->inject("services", EventFault::gone);
    ASSERT_TRUE(eventually([&] { return reflector_->counters().relists_after_gone.load() == 1; })) << log_.text();
    EXPECT_TRUE(log_.wait_for("is gone (410")) << log_.text();
    EXPECT_TRUE(eventually([&] { return reflector_->counters().lists.load() == 2; }));
    EXPECT_TRUE(sink_.has("default/a"));
}

TEST_F(ReflectorTest, AnHttp410OnTheWatchRequestRelists) {
    start(api::services);
    ASSERT_TRUE(synced());
    server_->fail_next_requests("services", 410, 1);
    ASSERT_TRUE(arrives_after(EventFault::drop_mid_event, "a", "10.96.0.1")) << log_.text();
    EXPECT_EQ(reflector_->counters().relists_after_gone.load(), 1u) << log_.text();
    EXPECT_TRUE(log_.contains("refused (HTTP 410 Expired")) << log_.text();
}

TEST_F(ReflectorTest, AnExpiredContinueTokenStartsTheListOver) {
    server_.emplace(test_certificates());
    for (int i = 0; i < 6; ++i)
        server_->put("services", service(fmt::format("s{}", i), fmt::format("10.96.0.{}", i + 1)));
    int upserts = 0;
    sink_.on_upsert = [&] {
        if (++upserts == 1)
            server_->compact(); // the token of the first page expires
    };
    const auto kubeconfig = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-kubeconfig", ::getpid());
    server_->write_kubeconfig(kubeconfig);
    start_with(api::load_kubeconfig(kubeconfig), api::services);
    ASSERT_TRUE(synced()) << log_.text();
    EXPECT_EQ(sink_.objects().size(), 6u);
    EXPECT_TRUE(log_.contains("continue token expired")) << log_.text();
    EXPECT_EQ(reflector_->counters().lists.load(), 1u);
}

TEST_F(ReflectorTest, ADroppedConnectionMidEventResumesFromTheLastResourceVersion) {
    start(api::services);
    server_->put("services", service("a", "10.96.0.1"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/a"); }));
    ASSERT_TRUE(arrives_after(EventFault::drop_mid_event, "b", "10.96.0.2")) << log_.text();
    EXPECT_TRUE(log_.contains("watch dropped")) << log_.text();
    EXPECT_TRUE(log_.contains("resuming from resourceVersion")) << log_.text();
    EXPECT_EQ(reflector_->counters().lists.load(), 1u) << "a resumable watch must not relist";
    EXPECT_TRUE(sink_.has("default/a"));
}

TEST_F(ReflectorTest, ATruncatedOrMalformedEventReconnectsAndLosesNothing) {
    start(api::services);
    server_->put("services", service("a", "10.96.0.1"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/a"); }));
    ASSERT_TRUE(arrives_after(EventFault::truncated_event, "b", "10.96.0.2")) << log_.text();
    EXPECT_TRUE(log_.contains("malformed watch event")) << log_.text();
    server_->inject("services", EventFault::malformed_event);
    ASSERT_TRUE(eventually([&] { return reflector_->counters().failures.load() == 2; })) << log_.text();
    server_->put("services", service("c", "10.96.0.3"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/c"); })) << log_.text();
    EXPECT_EQ(sink_.objects().size(), 3u);
    EXPECT_EQ(reflector_->counters().lists.load(), 1u);
}

TEST_F(ReflectorTest, AStalledWatchIsAbandonedAfterTheIdleLimit) {
    auto options = fast();
    options.idle_limit = 1500ms;
    start(api::services, {}, options);
    ASSERT_TRUE(synced());
    ASSERT_TRUE(eventually([&] { return server_->open_watches() == 1; }));
    server_->stall_watches(3s);
    server_->put("services", service("late", "10.96.0.9"));
    ASSERT_TRUE(log_.wait_for("watch silent for 1.5s")) << log_.text();
    EXPECT_TRUE(eventually([&] { return sink_.has("default/late"); })) << log_.text();
}

class ErrorStatus : public ReflectorTest, public ::testing::WithParamInterface<int> {};

TEST_P(ErrorStatus, IsLoggedAndRetriedWithBackoff) {
    const int status = GetParam();
    start(api::services);
    ASSERT_TRUE(synced());
    server_->fail_next_requests("services", status, 3);
    ASSERT_TRUE(arrives_after(EventFault::drop_mid_event, "x", "10.96.0.1")) << log_.text();
    EXPECT_TRUE(log_.contains(fmt::format("watch refused (HTTP {}", status))) << log_.text();
    EXPECT_GE(reflector_->counters().failures.load(), 4u);
    EXPECT_EQ(reflector_->counters().lists.load(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Statuses, ErrorStatus, ::testing::Values(401, 403, 500));

TEST_F(ReflectorTest, TheServersWatchTimeoutIsANormalReconnect) {
    auto options = fast();
    options.watch_timeout = 1s;
    start(api::services, {}, options);
    ASSERT_TRUE(synced());
    ASSERT_TRUE(eventually([&] { return reflector_->counters().server_timeouts.load() >= 1; }, 15s));
    EXPECT_EQ(reflector_->counters().failures.load(), 0u) << log_.text();
    EXPECT_EQ(reflector_->counters().lists.load(), 1u);
    const auto timeouts = server_->requests();
    EXPECT_TRUE(std::any_of(timeouts.begin(), timeouts.end(), [](const std::string& r) {
        return r.find("timeoutSeconds=1") != std::string::npos;
    }));
}

TEST_F(ReflectorTest, AServerRestartWithAHigherResourceVersionResumesOrRelists) {
    start(api::services);
    server_->put("services", service("a", "10.96.0.1"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/a"); }));
    server_->restart(5000, true);
    server_->put("services", service("b", "10.96.0.2"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/b"); })) << log_.text();
    EXPECT_EQ(reflector_->counters().lists.load(), 1u) << log_.text();
    EXPECT_TRUE(log_.contains("watch dropped")) << log_.text();

    server_->restart(5000, false);
    server_->put("services", service("c", "10.96.0.3"));
    ASSERT_TRUE(eventually([&] { return sink_.has("default/c"); })) << log_.text();
    EXPECT_EQ(reflector_->counters().relists_after_gone.load(), 1u) << log_.text();
    EXPECT_EQ(sink_.objects().size(), 3u);
    EXPECT_GT(std::stoull(reflector_->resource_version()), 11000u);
}

TEST_F(ReflectorTest, ARotatedTokenFileIsReadOnTheNextRequest) {
    server_.emplace(test_certificates(), ServerOptions{{"new-token"}});
    const auto token_file = std::filesystem::temp_directory_path() / fmt::format("kprt-{}-token", ::getpid());
    std::ofstream(token_file) << "old-token\n";
    api::ApiConfig config;
    config.server = server_->url();
    config.certificate_authority.file = test_certificates().ca_cert;
    config.token_file = token_file;
    start_with(config, api::services);
    ASSERT_TRUE(log_.wait_for("HTTP 401 Unauthorized")) << log_.text();
    EXPECT_FALSE(reflector_->synced());
    std::ofstream(token_file) << "new-token\n";
    EXPECT_TRUE(synced()) << log_.text();
    std::filesystem::remove(token_file);
}

TEST_F(ReflectorTest, AClientCertificateAuthenticates) {
    ServerOptions options;
    options.require_client_certificate = true;
    start(api::services, options);
    EXPECT_TRUE(synced()) << log_.text();
}

TEST_F(ReflectorTest, AServerCertificateNotSignedByTheCaIsRefusedUnlessVerificationIsOff) {
    server_.emplace(test_certificates());
    api::ApiConfig config;
    config.server = server_->url();
    config.token = "kpr-test-token";
    config.certificate_authority.file = "/etc/ssl/certs/ca-certificates.crt";
    start_with(config, api::services);
    ASSERT_TRUE(log_.wait_for("list failed")) << log_.text();
    EXPECT_FALSE(reflector_->synced());
    TearDown();
    reflector_.reset();
    config.certificate_authority = {};
    config.insecure_skip_tls_verify = true;
    start_with(config, api::services);
    EXPECT_TRUE(synced()) << log_.text();
}

} // namespace
} // namespace kpr::testbed::apiserver
