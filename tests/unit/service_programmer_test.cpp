// The sync engine against in-memory maps: what it writes, in which order,
// what it leaves alone, and what it does when a map is full or a write fails.
// After every single write the maps are checked as a concurrent connect()
// would read them: every frontend it can see is complete.
#include <gtest/gtest.h>

#include "fake_map.hpp"
#include "kpr/sync/service_programmer.hpp"

namespace kpr::sync {
namespace {

using testing::FakeMap;

net::Address ip(const char* text) { return *net::Address::parse(text); }

DesiredFrontend frontend(const char* vip, std::uint16_t port, std::vector<const char*> backends,
                         std::uint16_t backend_port = 8080, k8s::Protocol proto = k8s::Protocol::TCP) {
    DesiredFrontend d{{ip(vip), port, proto}, {}};
    for (const char* b : backends)
        d.backends.push_back({ip(b), backend_port});
    std::sort(d.backends.begin(), d.backends.end());
    return d;
}

DesiredService service(const char* name, std::vector<DesiredFrontend> frontends) {
    return {{"Service", "default", name}, {"svc.yaml", 1, 1}, std::move(frontends)};
}

template <class F> struct FakeFamily {
    FakeMap<typename F::ServiceKey, layout::ServiceValue> services;
    FakeMap<layout::BackendKey, typename F::Backend> backends;
    std::vector<std::string> violations;

    FakeFamily(std::uint32_t service_capacity, std::uint32_t backend_capacity)
        : services(std::string(F::services.name), service_capacity),
          backends(std::string(F::backends.name), backend_capacity) {
        services.after_write = [this] { check_reader_view(); };
        backends.after_write = [this] { check_reader_view(); };
    }

    // What a BPF program could observe right now must make sense.
    void check_reader_view() {
        for (const auto& [key, value] : services.entries()) {
            if (key.backend_slot != 0)
                continue;
            for (std::uint16_t slot = 1; slot <= value.count; ++slot) {
                auto slot_key = key;
                slot_key.backend_slot = slot;
                const auto s = services.lookup(slot_key);
                if (!s) {
                    violations.push_back(fmt::format("{} slot {} missing while count is {}",
                                                     frontend_of<F>(key).str(), slot, value.count));
                    continue;
                }
                if (!backends.lookup(layout::BackendKey{s->backend_id}))
                    violations.push_back(fmt::format("{} slot {} refers to missing backend {}",
                                                     frontend_of<F>(key).str(), slot, s->backend_id));
            }
        }
    }

    // The frontend as a reader resolves it: backend addresses, sorted.
    std::vector<BackendAddress> resolve(const Frontend& f) const {
        std::vector<BackendAddress> out;
        const auto head = services.lookup(service_key<F>(f, 0));
        if (!head)
            return out;
        for (std::uint16_t slot = 1; slot <= head->count; ++slot) {
            const auto s = services.lookup(service_key<F>(f, slot));
            const auto b = backends.lookup(layout::BackendKey{s->backend_id});
            out.push_back({F::from_layout(b->address), b->port.host()});
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    bool has_frontend(const Frontend& f) const { return services.lookup(service_key<F>(f, 0)).has_value(); }
    std::size_t writes() const { return services.writes + backends.writes; }
};

struct Fixture : ::testing::Test {
    FakeFamily<Ipv4Maps> v4{64, 64};
    FakeFamily<Ipv6Maps> v6{64, 64};

    ApplyReport apply(const std::vector<DesiredService>& services) {
        FamilyProgrammer<Ipv4Maps> p4(v4.services, v4.backends);
        FamilyProgrammer<Ipv6Maps> p6(v6.services, v6.backends);
        ServiceProgrammer programmer(&p4, &p6);
        return programmer.apply(LoadBalancerModel{services, {}});
    }

    void TearDown() override {
        EXPECT_TRUE(v4.violations.empty()) << fmt::format("{}", fmt::join(v4.violations, "\n"));
        EXPECT_TRUE(v6.violations.empty()) << fmt::format("{}", fmt::join(v6.violations, "\n"));
    }
};

std::vector<BackendAddress> backends_of(const DesiredFrontend& d) { return d.backends; }

TEST_F(Fixture, ProgramsEveryFrontendWithItsBackends) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11", "10.244.0.12", "10.244.0.13"});
    const auto web6 = frontend("fd00:96::10", 80, {"fd00:244::11", "fd00:244::12"});
    const auto report = apply({service("web", {web, web6})});
    EXPECT_TRUE(report.problems.empty());
    EXPECT_EQ(report.written, 2u);
    EXPECT_EQ(v4.resolve(web.frontend), backends_of(web));
    EXPECT_EQ(v6.resolve(web6.frontend), backends_of(web6));
    const auto head = v4.services.lookup(service_key<Ipv4Maps>(web.frontend, 0));
    ASSERT_TRUE(head);
    EXPECT_EQ(head->count, 3);
    EXPECT_NE(head->rev_nat_id, 0);
    const auto b = v4.backends.entries().begin()->second;
    EXPECT_EQ(b.proto, 6);
}

TEST_F(Fixture, AnUnchangedModelWritesNothing) {
    const std::vector<DesiredService> model{service("web", {frontend("10.96.0.10", 80, {"10.244.0.11"})})};
    apply(model);
    const auto before = v4.writes();
    const auto report = apply(model);
    EXPECT_EQ(v4.writes(), before);
    EXPECT_EQ(report.unchanged, 1u);
    EXPECT_EQ(report.written, 0u);
}

TEST_F(Fixture, ARestartedProgrammerReadsTheMapsBackAndKeepsIds) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11", "10.244.0.12"});
    apply({service("web", {web})});
    const auto head_before = *v4.services.lookup(service_key<Ipv4Maps>(web.frontend, 0));
    const auto writes_before = v4.writes();
    // apply() builds a fresh programmer over the same maps, as a restart does.
    const auto report = apply({service("web", {web})});
    EXPECT_EQ(v4.writes(), writes_before);
    EXPECT_EQ(report.unchanged, 1u);
    EXPECT_EQ(v4.services.lookup(service_key<Ipv4Maps>(web.frontend, 0))->rev_nat_id, head_before.rev_nat_id);
}

TEST_F(Fixture, GrowingShrinkingAndSwappingBackendsNeverExposesAHalfWrittenFrontend) {
    const char* a = "10.244.0.11";
    const char* b = "10.244.0.12";
    const char* c = "10.244.0.13";
    const char* d = "10.244.0.14";
    for (const auto& backends : std::vector<std::vector<const char*>>{{a}, {a, b, c}, {b}, {c, d}, {a, b, c, d}, {}, {d}}) {
        const auto web = frontend("10.96.0.10", 80, backends);
        apply({service("web", {web})});
        EXPECT_EQ(v4.resolve(web.frontend), backends_of(web));
    }
    // Only the last set's backend is left in the backend map.
    EXPECT_EQ(v4.backends.entries().size(), 1u);
}

TEST_F(Fixture, EachStepOfAChangeIsOneBatch) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11", "10.244.0.12", "10.244.0.13"});
    apply({service("web", {web})});
    // New backends in one batch; slots 1..3 in one batch, then slot 0 alone.
    EXPECT_EQ(v4.backends.batches, 1u);
    EXPECT_EQ(v4.backends.writes, 3u);
    EXPECT_EQ(v4.services.batches, 1u);
    EXPECT_EQ(v4.services.writes, 4u);

    const auto shrunk = frontend("10.96.0.10", 80, {"10.244.0.14"});
    apply({service("web", {shrunk})});
    // One batch adds the new backend, one deletes the three freed ones.
    EXPECT_EQ(v4.backends.batches, 3u);
    EXPECT_EQ(v4.backends.writes, 3u + 1u + 3u);
    // Slot 1 rewritten in one batch, slot 0 alone, slots 2 and 3 deleted in one batch.
    EXPECT_EQ(v4.services.batches, 3u);
    EXPECT_EQ(v4.services.writes, 4u + 1u + 1u + 2u);
    EXPECT_EQ(v4.resolve(shrunk.frontend), backends_of(shrunk));
}

TEST_F(Fixture, RemovingAServiceDeletesItsEntriesFrontendFirst) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11", "10.244.0.12"});
    apply({service("web", {web})});
    bool head_gone_first = true;
    v4.services.after_write = [&] {
        v4.check_reader_view();
        const bool head = v4.has_frontend(web.frontend);
        const bool any_slot = v4.services.entries().size() > (head ? 1u : 0u);
        if (head && !any_slot)
            head_gone_first = false;
    };
    const auto report = apply({});
    EXPECT_EQ(report.removed, 1u);
    EXPECT_TRUE(head_gone_first);
    EXPECT_TRUE(v4.services.entries().empty());
    EXPECT_TRUE(v4.backends.entries().empty());
}

TEST_F(Fixture, ABackendSharedByTwoServicesIsStoredOnceAndOutlivesOne) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11"});
    const auto api = frontend("10.96.0.20", 80, {"10.244.0.11"});
    apply({service("api", {api}), service("web", {web})});
    EXPECT_EQ(v4.backends.entries().size(), 1u);
    apply({service("api", {api})});
    EXPECT_EQ(v4.backends.entries().size(), 1u);
    EXPECT_EQ(v4.resolve(api.frontend), backends_of(api));
    EXPECT_FALSE(v4.has_frontend(web.frontend));
}

TEST_F(Fixture, AServiceWithoutBackendsKeepsAFrontendWithCountZero) {
    const auto web = frontend("10.96.0.10", 80, {});
    apply({service("web", {web})});
    const auto head = v4.services.lookup(service_key<Ipv4Maps>(web.frontend, 0));
    ASSERT_TRUE(head);
    EXPECT_EQ(head->count, 0);
}

TEST_F(Fixture, AServiceThatDoesNotFitIsReportedAndKeepsWhatItHad) {
    FakeFamily<Ipv4Maps> small{6, 64};
    FamilyProgrammer<Ipv4Maps> p4(small.services, small.backends);
    ServiceProgrammer programmer(&p4, nullptr);
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11"});
    const auto big_before = frontend("10.96.0.20", 80, {"10.244.0.21"});
    programmer.apply({{service("big", {big_before}), service("web", {web})}, {}});
    ASSERT_EQ(small.services.entries().size(), 4u);

    const auto big_after = frontend("10.96.0.20", 80, {"10.244.0.21", "10.244.0.22", "10.244.0.23", "10.244.0.24"});
    const auto db = frontend("10.96.0.30", 5432, {"10.244.0.31"});
    const auto report = programmer.apply({{service("big", {big_after}), service("db", {db}), service("web", {web})}, {}});
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_EQ(report.problems[0].object, "Service default/big");
    EXPECT_NE(report.problems[0].message.find("does not fit map kpr_svc4"), std::string::npos)
        << report.problems[0].message;
    EXPECT_NE(report.problems[0].message.find("capacity is 6"), std::string::npos);
    EXPECT_EQ(small.resolve(big_before.frontend), backends_of(big_before));
    EXPECT_EQ(small.resolve(web.frontend), backends_of(web));
    EXPECT_EQ(small.resolve(db.frontend), backends_of(db));
    EXPECT_TRUE(small.violations.empty());
}

TEST_F(Fixture, AFailedWriteIsReportedAndTheNextApplyCompletesTheService) {
    FamilyProgrammer<Ipv4Maps> p4(v4.services, v4.backends);
    ServiceProgrammer programmer(&p4, nullptr);
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11", "10.244.0.12"});
    v4.services.fail_next_update = true;
    const auto first = programmer.apply({{service("web", {web})}, {}});
    ASSERT_EQ(first.problems.size(), 1u);
    EXPECT_NE(first.problems[0].message.find("injected failure"), std::string::npos);
    EXPECT_FALSE(v4.has_frontend(web.frontend));
    const auto second = programmer.apply({{service("web", {web})}, {}});
    EXPECT_TRUE(second.problems.empty());
    EXPECT_EQ(v4.resolve(web.frontend), backends_of(web));
    EXPECT_EQ(v4.backends.entries().size(), 2u);
}

TEST_F(Fixture, LeftoversOfAnInterruptedAgentAreCleanedUp) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11"});
    apply({service("web", {web})});
    // A slot beyond the count, slots of a frontend whose head is gone, and a
    // backend nothing refers to: what a kill between two writes leaves.
    auto stray = service_key<Ipv4Maps>(web.frontend, 5);
    v4.services.entries()[stray] = layout::ServiceValue{77, 0, 1, 0, 0, 0};
    const Frontend gone{ip("10.96.0.99"), 80, k8s::Protocol::TCP};
    v4.services.entries()[service_key<Ipv4Maps>(gone, 1)] = layout::ServiceValue{77, 0, 2, 0, 0, 0};
    v4.backends.entries()[layout::BackendKey{77}] = backend_value<Ipv4Maps>({ip("10.244.0.77"), 8080}, k8s::Protocol::TCP);

    apply({service("web", {web})});
    EXPECT_EQ(v4.services.entries().size(), 2u);
    EXPECT_EQ(v4.backends.entries().size(), 1u);
    EXPECT_EQ(v4.resolve(web.frontend), backends_of(web));
}

TEST_F(Fixture, AnUntrustedModelOnlyAddsFrontends) {
    const auto web = frontend("10.96.0.10", 80, {"10.244.0.11", "10.244.0.12"});
    const auto api = frontend("10.96.0.20", 80, {"10.244.0.21"});
    apply({service("api", {api}), service("web", {web})});
    FamilyProgrammer<Ipv4Maps> p4(v4.services, v4.backends);
    ServiceProgrammer programmer(&p4, nullptr);
    // web lost a backend and api is missing, as if their objects could not be read.
    const auto db = frontend("10.96.0.30", 5432, {"10.244.0.31"});
    const auto report = programmer.apply({{service("db", {db}), service("web", {frontend("10.96.0.10", 80, {"10.244.0.11"})})}, {}},
                                         ApplyScope::new_frontends_only);
    EXPECT_EQ(report.written, 1u);
    EXPECT_EQ(report.removed, 0u);
    EXPECT_EQ(v4.resolve(web.frontend), backends_of(web));
    EXPECT_EQ(v4.resolve(api.frontend), backends_of(api));
    EXPECT_EQ(v4.resolve(db.frontend), backends_of(db));
}

TEST_F(Fixture, AFamilyTheDataPathLacksIsReported) {
    FamilyProgrammer<Ipv4Maps> p4(v4.services, v4.backends);
    ServiceProgrammer programmer(&p4, nullptr);
    const auto report = programmer.apply(
        {{service("web", {frontend("10.96.0.10", 80, {"10.244.0.11"}), frontend("fd00:96::10", 80, {"fd00:244::11"})})}, {}});
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_EQ(report.problems[0].field, "spec.clusterIPs");
    EXPECT_NE(report.problems[0].message.find("built without IPv6"), std::string::npos);
    EXPECT_EQ(report.written, 1u);
}

TEST_F(Fixture, TcpAndUdpOnOnePortAreSeparateFrontendsAndBackends) {
    const auto dns_udp = frontend("10.96.0.53", 53, {"10.244.0.11"}, 53, k8s::Protocol::UDP);
    const auto dns_tcp = frontend("10.96.0.53", 53, {"10.244.0.11"}, 53, k8s::Protocol::TCP);
    apply({service("dns", {dns_tcp, dns_udp})});
    EXPECT_EQ(v4.resolve(dns_udp.frontend), backends_of(dns_udp));
    EXPECT_EQ(v4.resolve(dns_tcp.frontend), backends_of(dns_tcp));
    EXPECT_EQ(v4.backends.entries().size(), 2u);
}

} // namespace
} // namespace kpr::sync
