// Programming the external path's maps against in-memory maps: slot 0's
// flags, Maglev table and affinity timeout; Maglev tables and source ranges
// written before slot 0 points at them and removed after; a gone backend's
// NAT and affinity entries deleted before the backend; kpr_nodeport as the
// Services hold NodePorts; and a restarted agent's read-back. After every
// single write the maps are checked as the data path would read them.
#include <gtest/gtest.h>

#include "fake_map.hpp"
#include "kpr/sync/service_programmer.hpp"

namespace kpr::sync {
namespace {

using testing::FakeMap;

net::Address ip(const char* text) { return *net::Address::parse(text); }

constexpr std::uint32_t table_size = 7;
constexpr std::uint32_t tables = 4;

struct Maps {
    FakeMap<layout::ServiceKey4, layout::ServiceValue> services{"kpr_svc4", 1000};
    FakeMap<layout::BackendKey, layout::Backend4> backends{"kpr_backend4", 1000};
    FakeMap<layout::SourceRangeKey4, layout::SourceRangeValue> ranges{"kpr_srcrange4", 100};
    FakeMap<layout::NatKey4, layout::NatValue4> nat{"kpr_nat4", 100};
    FakeMap<layout::AffinityKey, layout::AffinityValue> affinity{"kpr_affinity", 100};
    FakeMap<layout::MaglevKey, layout::MaglevValue> maglev{"kpr_maglev", table_size * tables};
    FakeMap<layout::NodePortKey, layout::NodePortValue> node_ports{"kpr_nodeport", 100};
    std::vector<std::string> violations;

    Maps() {
        for (auto* hook : {&services.after_write, &backends.after_write, &ranges.after_write, &maglev.after_write})
            *hook = [this] { check_reader_view(); };
        backends.after_write = [this] { check_no_flow_to_a_missing_backend(); check_reader_view(); };
    }

    // Every frontend the data path can see is complete: its slots' backends,
    // its Maglev table's backends, and (with the flag) a range present.
    void check_reader_view() {
        for (const auto& [key, value] : services.entries()) {
            if (key.backend_slot != 0)
                continue;
            if (value.flags & layout::service_flag_maglev)
                for (std::uint32_t s = 0; s < table_size; ++s) {
                    const auto e = maglev.lookup({value.maglev_table * table_size + s});
                    if (value.count > 0 && (!e || !backends.lookup({e->backend_id})))
                        violations.push_back(fmt::format("rev_nat {} Maglev slot {} has no backend", value.rev_nat_id, s));
                }
            if (value.flags & layout::service_flag_source_ranges) {
                bool any = false;
                for (const auto& [rk, rv] : ranges.entries())
                    any = any || rk.rev_nat_id == value.rev_nat_id;
                if (!any)
                    violations.push_back(fmt::format("rev_nat {} flagged with no range written yet", value.rev_nat_id));
            }
        }
    }

    void check_no_flow_to_a_missing_backend() {
        for (const auto& [k, v] : nat.entries())
            if (!backends.lookup({v.backend_id}))
                violations.push_back(fmt::format("a NAT entry still refers to deleted backend {}", v.backend_id));
    }
};

struct Programmer {
    MaglevTables maglev;
    FrontendExtras<Ipv4Maps> extras;
    FamilyProgrammer<Ipv4Maps> family;
    ServiceProgrammer services;

    explicit Programmer(Maps& m, bool with_ranges = true)
        : maglev(m.maglev, table_size, tables), extras(with_ranges ? &m.ranges : nullptr, &m.nat, {&maglev, &m.affinity}),
          family(m.services, m.backends, &extras), services(&family, nullptr, &m.node_ports) {}
};

DesiredFrontend external(const char* address, std::uint16_t port, std::vector<const char*> backends) {
    DesiredFrontend d{{ip(address), port, k8s::Protocol::TCP}, {}, FrontendKind::node_port};
    for (const char* b : backends)
        d.backends.push_back({ip(b), 8080});
    std::sort(d.backends.begin(), d.backends.end());
    return d;
}

LoadBalancerModel model(std::vector<DesiredFrontend> frontends, std::vector<std::pair<std::uint16_t, k8s::Protocol>> node_ports = {}) {
    LoadBalancerModel m;
    m.services.push_back({{"Service", "shop", "web"}, {"svc.yaml", 1, 1}, std::move(frontends), {}, std::move(node_ports)});
    return m;
}

layout::ServiceValue head(const Maps& m, const DesiredFrontend& d) {
    return *m.services.lookup(service_key<Ipv4Maps>(d.frontend, 0));
}

// The Maglev table slot 0 names, as backend addresses.
std::vector<std::string> table_of(const Maps& m, const layout::ServiceValue& h) {
    std::vector<std::string> out;
    for (std::uint32_t s = 0; s < table_size; ++s) {
        const auto id = m.maglev.lookup({h.maglev_table * table_size + s})->backend_id;
        const auto b = *m.backends.lookup({id});
        out.push_back(BackendAddress{Ipv4Maps::from_layout(b.address), b.port.host()}.str());
    }
    return out;
}

// What sync/maglev_table.hpp computes for the same backends.
std::vector<std::string> expected_table(const DesiredFrontend& d) {
    std::vector<std::string> names;
    for (const auto& b : d.backends)
        names.push_back(b.str());
    std::vector<std::string> out;
    for (auto i : maglev_table(names, table_size))
        out.push_back(names[i]);
    return out;
}

TEST(ExternalProgrammer, SlotZeroCarriesFlagsAndTheMaglevTableIsWrittenFirst) {
    Maps m;
    Programmer p(m);
    auto np = external("192.168.1.10", 30080, {"10.244.1.5", "10.244.2.7"});
    np.local_only = true;
    np.affinity_seconds = 600;
    DesiredFrontend cluster{{ip("10.96.0.10"), 80, k8s::Protocol::TCP}, np.backends};
    const auto r = p.services.apply(model({cluster, np}, {{30080, k8s::Protocol::TCP}}));
    EXPECT_TRUE(r.problems.empty());
    EXPECT_EQ(m.violations, std::vector<std::string>{});

    const auto h = head(m, np);
    EXPECT_EQ(h.flags, layout::service_flag_external | layout::service_flag_local_only | layout::service_flag_maglev |
                           layout::service_flag_affinity);
    EXPECT_EQ(h.affinity_seconds, 600u);
    EXPECT_EQ(table_of(m, h), expected_table(np));
    EXPECT_EQ(head(m, cluster).flags, 0) << "a cluster IP is never external nor Maglev";
    EXPECT_EQ(m.node_ports.entries().size(), 1u);
    EXPECT_EQ(m.node_ports.entries().begin()->first.port.host(), 30080);
    EXPECT_EQ(m.node_ports.entries().begin()->second.services, 1u);

    // Unchanged: nothing written.
    const auto writes = m.services.writes + m.maglev.writes;
    EXPECT_EQ(p.services.apply(model({cluster, np}, {{30080, k8s::Protocol::TCP}})).written, 0u);
    EXPECT_EQ(m.services.writes + m.maglev.writes, writes);

    // A backend goes: a fresh table, slot 0 moved to it after it is complete.
    auto fewer = np;
    fewer.backends.pop_back();
    p.services.apply(model({cluster, fewer}));
    EXPECT_EQ(m.violations, std::vector<std::string>{});
    const auto h2 = head(m, fewer);
    EXPECT_NE(h2.maglev_table, h.maglev_table);
    EXPECT_EQ(table_of(m, h2), expected_table(fewer));
    EXPECT_TRUE(m.node_ports.entries().empty()) << "the NodePort is no longer held";
}

TEST(ExternalProgrammer, SourceRangesGoBeforeTheFlagAndLeaveAfterIt) {
    Maps m;
    Programmer p(m);
    auto lb = external("203.0.113.50", 80, {"10.244.1.5"});
    lb.kind = FrontendKind::load_balancer;
    lb.source_ranges_enforced = true;
    lb.source_ranges = {*net::Prefix::parse("198.51.100.0/24"), *net::Prefix::parse("192.0.2.9/32")};
    p.services.apply(model({lb}));
    EXPECT_EQ(m.violations, std::vector<std::string>{});
    const auto h = head(m, lb);
    EXPECT_TRUE(h.flags & layout::service_flag_source_ranges);
    std::set<std::string> written;
    for (const auto& [k, v] : m.ranges.entries()) {
        EXPECT_EQ(k.rev_nat_id, h.rev_nat_id);
        EXPECT_EQ(v.present, 1u);
        written.insert(net::Prefix(Ipv4Maps::from_layout(k.address),
                                   static_cast<std::uint8_t>(k.prefixlen - layout::source_range_prefix_bits))
                           .str());
    }
    EXPECT_EQ(written, (std::set<std::string>{"198.51.100.0/24", "192.0.2.9/32"}));

    lb.source_ranges.pop_back();
    p.services.apply(model({lb}));
    EXPECT_EQ(m.ranges.entries().size(), 1u);

    p.services.apply(model({}));
    EXPECT_TRUE(m.ranges.entries().empty());
    EXPECT_TRUE(m.services.entries().empty());
    EXPECT_EQ(m.violations, std::vector<std::string>{});
}

TEST(ExternalProgrammer, SourceRangesWithoutTheirMapAreRefusedNotOpened) {
    Maps m;
    Programmer p(m, false);
    auto lb = external("203.0.113.50", 80, {"10.244.1.5"});
    lb.source_ranges_enforced = true;
    const auto r = p.services.apply(model({lb}));
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].message.find("has loadBalancerSourceRanges, and this data path has no kpr_srcrange4"),
              std::string::npos)
        << r.problems[0].message;
    EXPECT_FALSE(m.services.lookup(service_key<Ipv4Maps>(lb.frontend, 0)));
}

TEST(ExternalProgrammer, AGoneBackendsFlowsAndAffinityGoBeforeIt) {
    Maps m;
    Programmer p(m);
    const auto np = external("192.168.1.10", 30080, {"10.244.1.5", "10.244.2.7"});
    p.services.apply(model({np}));
    std::map<std::string, std::uint32_t> id_of;
    for (const auto& [k, v] : m.backends.entries())
        id_of[BackendAddress{Ipv4Maps::from_layout(v.address), v.port.host()}.str()] = k.backend_id;
    const auto rev_nat = head(m, np).rev_nat_id;
    // A flow and an affinity entry through each backend (as the data path writes them).
    for (const auto& [name, id] : id_of) {
        layout::NatKey4 k{};
        k.sport = layout::be16::from_host(static_cast<std::uint16_t>(40000 + id));
        for (std::uint8_t direction : {layout::nat_forward, layout::nat_reverse}) {
            k.direction = direction;
            layout::NatValue4 v{};
            v.backend_id = id;
            v.rev_nat_id = rev_nat;
            m.nat.entries()[k] = v;
        }
        layout::AffinityKey a{};
        a.client_address[0] = layout::be32::from_host(id);
        a.rev_nat_id = rev_nat;
        a.family = 4;
        m.affinity.entries()[a] = layout::AffinityValue{1, id, {}};
        a.family = 6; // the other family's backend ids are another space
        m.affinity.entries()[a] = layout::AffinityValue{1, id, {}};
    }
    auto fewer = np;
    fewer.backends = {{ip("10.244.1.5"), 8080}};
    p.services.apply(model({fewer}));
    EXPECT_EQ(m.violations, std::vector<std::string>{});
    const auto gone = id_of["10.244.2.7:8080"];
    EXPECT_FALSE(m.backends.lookup({gone}));
    EXPECT_EQ(m.nat.entries().size(), 2u);
    for (const auto& [k, v] : m.nat.entries())
        EXPECT_EQ(v.backend_id, id_of["10.244.1.5:8080"]);
    EXPECT_EQ(m.affinity.entries().size(), 3u);
    for (const auto& [k, v] : m.affinity.entries())
        EXPECT_TRUE(v.backend_id != gone || k.family == 6);
}

TEST(ExternalProgrammer, ARestartedAgentRewritesOnlyItsMaglevTablesOnce) {
    Maps m;
    auto np = external("192.168.1.10", 30080, {"10.244.1.5", "10.244.2.7"});
    auto lb = external("203.0.113.50", 80, {"10.244.1.5"});
    lb.source_ranges_enforced = true;
    lb.source_ranges = {*net::Prefix::parse("198.51.100.0/24")};
    {
        Programmer first(m);
        first.services.apply(model({np, lb}));
    }
    // A range of a frontend that is gone, left by an agent stopped half-way.
    layout::SourceRangeKey4 orphan{};
    orphan.prefixlen = 40;
    orphan.rev_nat_id = 999;
    m.ranges.entries()[orphan] = {1};

    const auto table_before = head(m, np).maglev_table;
    Programmer second(m);
    EXPECT_FALSE(m.ranges.lookup(orphan)) << "read-back drops ranges of no frontend";
    const auto service_writes = m.services.writes;
    second.services.apply(model({np, lb}));
    EXPECT_EQ(m.violations, std::vector<std::string>{});
    EXPECT_NE(head(m, np).maglev_table, table_before) << "a table found is not trusted: written afresh";
    EXPECT_EQ(table_of(m, head(m, np)), expected_table(np));
    const auto after_first = m.services.writes;
    EXPECT_EQ(after_first - service_writes, 2u) << "two slot-0 entries moved to their new tables, nothing else";
    EXPECT_EQ(second.services.apply(model({np, lb})).written, 0u);
    EXPECT_EQ(m.services.writes, after_first);
}

} // namespace
} // namespace kpr::sync
