// The policy programmer against in-memory maps: only differences written,
// in batches; after every single write, nothing that stays allowed reads as
// denied; revisions bumped exactly when a decision could turn from allow to
// deny, and only after the deletions; a change too big for a map refused
// whole; a restart over the same maps writes nothing.
#include <gtest/gtest.h>

#include "fake_map.hpp"
#include "kpr/sync/policy_programmer.hpp"

namespace kpr::sync {
namespace {

using testing::FakeMap;

constexpr std::uint32_t web = 7;   // endpoint ids
constexpr std::uint32_t db = 9;
constexpr std::uint32_t client_identity = 300;
constexpr std::uint32_t other_identity = 301;

layout::PolicyKey allow(std::uint32_t endpoint, std::uint32_t peer, std::uint8_t direction, std::uint16_t port) {
    return {endpoint, peer, direction, 6, layout::be16::from_host(port), 16, {}};
}

layout::EndpointValue endpoint(std::uint32_t identity, std::uint8_t flags) {
    return {identity, 1u << 16, 1u << 16, 0, flags, {}};
}

layout::IpcacheKey4 host4(std::uint8_t last) {
    return {32, layout::be32::from_host(0x0af40000u | last)};
}

struct Maps {
    FakeMap<layout::IpcacheKey4, layout::IpcacheValue> ipcache4{"kpr_ipcache4", 16};
    FakeMap<layout::IpcacheKey6, layout::IpcacheValue> ipcache6{"kpr_ipcache6", 16};
    FakeMap<layout::EndpointKey, layout::EndpointValue> endpoints{"kpr_endpoint", 4};
    FakeMap<layout::PolicyKey, layout::PolicyValue> policies{"kpr_policy", 8};

    PolicyMaps io() { return {&ipcache4, &ipcache6, &endpoints, &policies}; }
    std::size_t writes() const { return ipcache4.writes + ipcache6.writes + endpoints.writes + policies.writes; }

    template <class Fn> void after_every_write(Fn fn) {
        ipcache4.after_write = fn;
        ipcache6.after_write = fn;
        endpoints.after_write = fn;
        policies.after_write = fn;
    }
};

// web enforced for ingress, allowing the client identity on port 80 and
// the other identity on 443; db open; two ipcache entries.
PolicyMapContents before() {
    PolicyMapContents c;
    c.endpoints[{web}] = endpoint(100, layout::endpoint_ingress_enforced);
    c.endpoints[{db}] = endpoint(101, 0);
    c.policies[allow(web, client_identity, 0, 80)] = {1, {}};
    c.policies[allow(web, other_identity, 0, 443)] = {1, {}};
    c.ipcache4[host4(10)] = {client_identity, 2, 0};
    c.ipcache4[host4(11)] = {100, 2, web};
    return c;
}

TEST(PolicyProgrammer, WritesOnlyDifferencesInBatchesAndARestartWritesNothing) {
    Maps maps;
    {
        PolicyProgrammer programmer(maps.io());
        const auto first = programmer.apply(before());
        EXPECT_EQ(first.written, 6u);
        EXPECT_EQ(first.removed, 0u);
        EXPECT_FALSE(first.refused);
        EXPECT_EQ(maps.policies.batches, 1u) << "two policy entries, one batch";
        EXPECT_EQ(maps.endpoints.batches, 1u);
        const auto again = programmer.apply(before());
        EXPECT_EQ(again.written + again.removed, 0u);
        EXPECT_EQ(again.unchanged, 6u);
    }
    const auto writes = maps.writes();
    const auto revisions = maps.endpoints.entries();
    PolicyProgrammer restarted(maps.io()); // reads the maps back
    const auto report = restarted.apply(before());
    EXPECT_EQ(maps.writes(), writes) << "a restart over unchanged input writes nothing";
    EXPECT_EQ(report.revisions_bumped, 0u);
    EXPECT_EQ(maps.endpoints.entries(), revisions) << "revisions survive the restart";
}

TEST(PolicyProgrammer, NothingThatStaysAllowedIsEverDeniedAndRevisionsMoveLast) {
    Maps maps;
    PolicyProgrammer programmer(maps.io());
    programmer.apply(before());
    const auto web_revision = maps.endpoints.entries().at({web}).policy_revision;

    // After: web loses 443 and gains egress enforcement with an egress
    // allow; db becomes ingress-enforced with one allow.
    auto after = before();
    after.policies.erase(allow(web, other_identity, 0, 443));
    after.endpoints[{web}].flags |= layout::endpoint_egress_enforced;
    after.policies[allow(web, client_identity, 1, 5432)] = {1, {}};
    after.endpoints[{db}].flags = layout::endpoint_ingress_enforced;
    after.policies[allow(db, client_identity, 0, 5432)] = {1, {}};

    const std::vector<layout::PolicyKey> stays_allowed{allow(web, client_identity, 0, 80),
                                                       allow(web, client_identity, 1, 5432),
                                                       allow(db, client_identity, 0, 5432)};
    std::vector<std::string> violations;
    bool revision_moved_before_deletion = false;
    maps.after_every_write([&] {
        const auto& eps = maps.endpoints.entries();
        for (const auto& key : stays_allowed) {
            const auto ep = eps.find({key.endpoint_id});
            const std::uint8_t flag =
                key.direction == 0 ? layout::endpoint_ingress_enforced : layout::endpoint_egress_enforced;
            if (ep != eps.end() && (ep->second.flags & flag) && !maps.policies.entries().contains(key))
                violations.push_back(fmt::format("endpoint {} direction {} port {} enforced without its allow",
                                                 key.endpoint_id, key.direction, key.port.host()));
        }
        if (eps.at({web}).policy_revision != web_revision &&
            maps.policies.entries().contains(allow(web, other_identity, 0, 443)))
            revision_moved_before_deletion = true;
    });
    const auto report = programmer.apply(after);
    EXPECT_TRUE(violations.empty()) << fmt::format("{}", fmt::join(violations, "\n"));
    EXPECT_FALSE(revision_moved_before_deletion)
        << "a connection re-decided between the bump and the deletion would keep the revoked allow";
    EXPECT_FALSE(maps.policies.entries().contains(allow(web, other_identity, 0, 443)));
    EXPECT_EQ(report.removed, 1u);
    EXPECT_EQ(report.revisions_bumped, 2u) << "web lost an entry, db became enforced";
    EXPECT_GT(maps.endpoints.entries().at({web}).policy_revision, web_revision);
}

TEST(PolicyProgrammer, RevisionsStayWhenOnlyAllowsAreAddedAndMoveForEveryEndpointOnAnIdentityChange) {
    Maps maps;
    PolicyProgrammer programmer(maps.io());
    programmer.apply(before());

    auto more = before();
    more.policies[allow(web, other_identity, 0, 8080)] = {1, {}};
    more.ipcache4[host4(12)] = {other_identity, 2, 0};
    EXPECT_EQ(programmer.apply(more).revisions_bumped, 2u)
        << "a new ipcache entry changes what an address is, for every endpoint";

    auto only_allow = more;
    only_allow.policies[allow(web, other_identity, 0, 8081)] = {1, {}};
    const auto settled = maps.endpoints.entries();
    EXPECT_EQ(programmer.apply(only_allow).revisions_bumped, 0u);
    EXPECT_EQ(maps.endpoints.entries(), settled);

    auto moved = only_allow;
    moved.ipcache4[host4(10)].identity = other_identity;
    EXPECT_EQ(programmer.apply(moved).revisions_bumped, 2u) << "every endpoint";
    for (const auto& [key, value] : maps.endpoints.entries())
        EXPECT_GT(value.policy_revision, settled.at(key).policy_revision);
}

TEST(PolicyProgrammer, ANewEndpointNeverReusesARevision) {
    Maps maps;
    PolicyProgrammer programmer(maps.io());
    programmer.apply(before());
    std::uint32_t highest = 0;
    for (const auto& [key, value] : maps.endpoints.entries())
        highest = std::max(highest, value.policy_revision);
    auto without_db = before();
    without_db.endpoints.erase({db});
    programmer.apply(without_db);
    PolicyProgrammer restarted(maps.io());
    restarted.apply(before()); // db comes back, on the same id
    EXPECT_GT(maps.endpoints.entries().at({db}).policy_revision, highest);
    EXPECT_EQ(maps.endpoints.entries().at(PolicyProgrammer::revision_counter).policy_revision,
              maps.endpoints.entries().at({db}).policy_revision)
        << "the counter holds the highest revision issued";
}

TEST(PolicyProgrammer, AChangeThatWouldNotFitIsRefusedWholeNamingTheMap) {
    Maps maps;
    PolicyProgrammer programmer(maps.io());
    programmer.apply(before());
    const auto policies = maps.policies.entries();
    const auto endpoints = maps.endpoints.entries();
    const auto writes = maps.writes();
    auto too_big = before();
    for (std::uint16_t port = 1000; port < 1010; ++port)
        too_big.policies[allow(db, client_identity, 0, port)] = {1, {}};
    too_big.endpoints[{db}].flags = layout::endpoint_ingress_enforced;
    const auto report = programmer.apply(too_big);
    ASSERT_TRUE(report.refused);
    EXPECT_NE(report.refused->find("map kpr_policy would need 12 entries"), std::string::npos) << *report.refused;
    EXPECT_NE(report.refused->find("capacity is 8"), std::string::npos) << *report.refused;
    EXPECT_EQ(maps.writes(), writes);
    EXPECT_EQ(maps.policies.entries(), policies);
    EXPECT_EQ(maps.endpoints.entries(), endpoints);
}

TEST(PolicyProgrammer, AFailedWriteReadsTheMapsBackAndTheNextApplyFinishes) {
    Maps maps;
    PolicyProgrammer programmer(maps.io());
    maps.endpoints.fail_next_update = true;
    EXPECT_THROW(programmer.apply(before()), runtime::Error);
    EXPECT_TRUE(maps.endpoints.entries().empty());
    EXPECT_EQ(maps.policies.entries().size(), 2u) << "the allows landed before the failure";
    const auto report = programmer.apply(before());
    EXPECT_FALSE(report.refused);
    EXPECT_EQ(report.written, 2u) << "only the endpoints were missing";
    EXPECT_EQ(programmer.endpoint_count(), 2u);
    EXPECT_TRUE(maps.endpoints.entries().contains(PolicyProgrammer::revision_counter));
}

} // namespace
} // namespace kpr::sync
