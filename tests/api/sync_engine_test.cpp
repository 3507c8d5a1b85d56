// The sync engine over in-memory maps: endpoint changes of a few Services
// take the incremental path and write only those Services' entries, with the
// same result a full rebuild would give; anything that changes frontends
// rebuilds in full; a burst of events is one sync, its latencies counted.
#include <gtest/gtest.h>

#include "fake_map.hpp"
#include "kpr/sync/sync_engine.hpp"

namespace kpr::sync {
namespace {

using kpr::testing::FakeMap;

k8s::Service service(const std::string& name, const std::string& ip) {
    k8s::Service s;
    s.meta.namespace_ = "default";
    s.meta.name = name;
    s.cluster_ips = {*net::Address::parse(ip)};
    s.ports = {{"http", k8s::Protocol::TCP, 80, std::uint16_t{8080}}};
    return s;
}

k8s::EndpointSlice slice(const std::string& service, const std::vector<std::string>& ready) {
    k8s::EndpointSlice s;
    s.meta.namespace_ = "default";
    s.meta.name = service + "-slice";
    s.service_name = service;
    s.ports = {{"http", k8s::Protocol::TCP, std::uint16_t{8080}}};
    for (const auto& ip : ready)
        s.endpoints.push_back({{*net::Address::parse(ip)}, {}, "node-1", ""});
    return s;
}

struct SyncEngineTest : ::testing::Test {
    FakeMap<layout::ServiceKey4, layout::ServiceValue> services{"kpr_svc4", 4096};
    FakeMap<layout::BackendKey, layout::Backend4> backends{"kpr_backend4", 4096};
    std::optional<FamilyProgrammer<Ipv4Maps>> family;
    std::optional<ServiceProgrammer> programmer;
    SyncCounters counters;
    std::optional<SyncEngine> engine;
    k8s::ClusterState state;

    void SetUp() override {
        family.emplace(services, backends);
        programmer.emplace(&*family, nullptr);
        engine.emplace(*programmer, ModelOptions{}, counters);
        for (int i = 0; i < 20; ++i) {
            const auto name = fmt::format("svc{}", i);
            state.services.emplace(service(name, fmt::format("10.96.0.{}", i + 1)).key(),
                                   service(name, fmt::format("10.96.0.{}", i + 1)));
            state.endpoint_slices.emplace(slice(name, {"10.244.0.1", "10.244.0.2"}).key(),
                                          slice(name, {"10.244.0.1", "10.244.0.2"}));
        }
        PendingChanges first{true, {}, {Clock::now()}};
        ASSERT_TRUE(engine->sync(state, first, ApplyScope::everything).full);
    }

    PendingChanges changed(const std::vector<std::string>& names, std::size_t events = 1) {
        PendingChanges c;
        for (const auto& n : names)
            c.services.insert({"default", n});
        c.arrivals.assign(events, Clock::now());
        return c;
    }

    void set_slice(const std::string& name, const std::vector<std::string>& ready) {
        state.endpoint_slices.insert_or_assign(slice(name, ready).key(), slice(name, ready));
    }
};

TEST_F(SyncEngineTest, AnEndpointChangeReprogramsOnlyItsService) {
    const auto before = services.entries();
    set_slice("svc3", {"10.244.0.1", "10.244.0.2", "10.244.0.3"});
    const auto result = engine->sync(state, changed({"svc3"}), ApplyScope::everything);
    EXPECT_FALSE(result.full);
    EXPECT_EQ(result.report.written, 1u);
    std::size_t differing = 0;
    for (const auto& [key, value] : services.entries())
        if (!before.contains(key) || !(before.at(key).backend_id == value.backend_id && before.at(key).count == value.count))
            ++differing;
    EXPECT_EQ(differing, 2u) << "slot 3 and the new count of svc3's frontend";
    // A full rebuild now finds nothing to do: the incremental result is the full one.
    const auto full = engine->sync(state, PendingChanges{true, {}, {}}, ApplyScope::everything);
    EXPECT_TRUE(full.full);
    EXPECT_EQ(full.report.written + full.report.removed, 0u);
}

TEST_F(SyncEngineTest, ABurstOfEventsForOneServiceIsOneIncrementalSync) {
    set_slice("svc7", {"10.244.0.9"});
    const auto result = engine->sync(state, changed({"svc7"}, 1000), ApplyScope::everything);
    EXPECT_FALSE(result.full);
    const auto c = counters.snapshot();
    EXPECT_EQ(c.incremental_syncs, 1u);
    EXPECT_EQ(c.full_syncs, 1u);
    EXPECT_EQ(c.events_applied, 1001u);
    EXPECT_GT(c.latency_max.count(), 0);
    EXPECT_EQ(family->backends_of({*net::Address::parse("10.96.0.8"), 80, k8s::Protocol::TCP}).size(), 1u);
}

TEST_F(SyncEngineTest, AddingOrRemovingAServiceOrContestingAFrontendRebuildsInFull) {
    state.services.emplace(service("new", "10.96.1.1").key(), service("new", "10.96.1.1"));
    EXPECT_TRUE(engine->sync(state, changed({"new"}), ApplyScope::everything).full);
    state.services.erase(service("svc0", "10.96.0.1").key());
    const auto removed = engine->sync(state, changed({"svc0"}), ApplyScope::everything);
    EXPECT_TRUE(removed.full);
    EXPECT_EQ(removed.report.removed, 1u);
    // "a-first" sorts before svc5 and takes its frontend: both must be recomputed.
    state.services.emplace(service("a-first", "10.96.0.6").key(), service("a-first", "10.96.0.6"));
    const auto contested = engine->sync(state, changed({"a-first"}), ApplyScope::everything);
    EXPECT_TRUE(contested.full);
    EXPECT_EQ(contested.report.problems.size(), 1u);
}

TEST_F(SyncEngineTest, ChangesToServicesThatAreNotProgrammedAreIgnored) {
    set_slice("ghost", {"10.244.0.1"});
    const auto result = engine->sync(state, changed({"ghost"}), ApplyScope::everything);
    EXPECT_FALSE(result.full);
    EXPECT_EQ(result.report.written, 0u);
}

} // namespace
} // namespace kpr::sync
