// The pod TC programs in this kernel, driven by BPF_PROG_TEST_RUN with
// crafted packets (docs/datapath-tc.md): every malformed or unusual packet
// class gets its documented verdict and drop reason and none gets around
// policy; conntrack lets replies through under default deny, expires, keeps
// an active flow through LRU eviction, and a removed allow stops an
// established connection through the policy revision. Maps are written
// with kpr's typed runtime::Map, pinned under a bpffs directory of this
// test's own.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/map.hpp"
#include "kpr/runtime/per_cpu_map.hpp"
#include "testbed/debris.hpp"
#include "testbed/privileges.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;
using layout::DropReason;

constexpr std::uint8_t tcp = 6, udp = 17, icmp = 1, icmpv6 = 58, sctp = 132, gre = 47;

constexpr std::uint8_t syn = 0x02, ack = 0x10, fin = 0x01;
constexpr std::uint8_t ingress = 0, egress = 1;

// The test's endpoints. The program sees every packet on the loopback
// device (ifindex 1, BPF_PROG_TEST_RUN's default), so the pod the programs
// guard is endpoint 1; endpoint 2 is another pod of this node.
constexpr std::uint32_t pod_a = 1, pod_b = 2;
constexpr std::uint32_t identity_a = 1000, identity_b = 2000, world = 2;
constexpr const char* a4 = "10.0.0.1";
constexpr const char* b4 = "10.0.0.2";
constexpr const char* out4 = "192.0.2.7"; // outside: world
constexpr const char* a6 = "fd00::1";
constexpr const char* out6 = "2001:db8::7";

std::array<std::uint8_t, 16> address(const char* text) {
    std::array<std::uint8_t, 16> out{};
    if (inet_pton(AF_INET, text, out.data()) != 1 && inet_pton(AF_INET6, text, out.data()) != 1)
        throw std::runtime_error(std::string("bad address ") + text);
    return out;
}

bool is_v4(const char* text) {
    in_addr a;
    return inet_pton(AF_INET, text, &a) == 1;
}

// A packet, built header by header; lengths and checksums are left as the
// programs ignore them.
struct Packet {
    std::vector<std::uint8_t> bytes;

    Packet& put(std::initializer_list<std::uint8_t> b) {
        bytes.insert(bytes.end(), b);
        return *this;
    }
    Packet& put16(std::uint16_t v) { return put({std::uint8_t(v >> 8), std::uint8_t(v)}); }
    Packet& put_address(const char* text) {
        const auto a = address(text);
        bytes.insert(bytes.end(), a.begin(), a.begin() + (is_v4(text) ? 4 : 16));
        return *this;
    }
    Packet& zeros(std::size_t n) {
        bytes.insert(bytes.end(), n, 0);
        return *this;
    }
    Packet& cut(std::size_t length) {
        bytes.resize(length);
        return *this;
    }
};

Packet ethernet(std::uint16_t type) {
    Packet p;
    p.zeros(12).put16(type);
    return p;
}

struct Ipv4Options {
    std::size_t option_bytes = 0; // a multiple of 4
    std::uint16_t fragment_offset = 0; // in 8-byte units
    bool more_fragments = false;
    std::uint8_t ihl = 0; // 0: from option_bytes
};

Packet& ipv4(Packet& p, const char* src, const char* dst, std::uint8_t proto,
             Ipv4Options o = {}) {
    const std::uint8_t ihl = o.ihl ? o.ihl : std::uint8_t(5 + o.option_bytes / 4);
    p.put({std::uint8_t(0x40 | ihl), 0}).put16(0).put16(0x1234);
    p.put16(std::uint16_t((o.more_fragments ? 0x2000 : 0) | o.fragment_offset));
    p.put({64, proto}).put16(0).put_address(src).put_address(dst);
    for (std::size_t i = 0; i < o.option_bytes; ++i)
        p.put({1}); // NOP options
    return p;
}

Packet& ipv6(Packet& p, const char* src, const char* dst, std::uint8_t next) {
    p.put({0x60, 0, 0, 0}).put16(0).put({next, 64}).put_address(src).put_address(dst);
    return p;
}

// An extension header of 8 bytes (hop-by-hop, routing, destination options).
Packet& extension(Packet& p, std::uint8_t next) {
    return p.put({next, 0}).zeros(6);
}

Packet& fragment_header(Packet& p, std::uint8_t next, std::uint16_t offset_units, bool more) {
    return p.put({next, 0}).put16(std::uint16_t(offset_units << 3 | (more ? 1 : 0))).zeros(4);
}

Packet& tcp_header(Packet& p, std::uint16_t sport, std::uint16_t dport, std::uint8_t flags) {
    p.put16(sport).put16(dport).zeros(8).put({0x50, flags}).zeros(6);
    return p;
}

Packet& udp_header(Packet& p, std::uint16_t sport, std::uint16_t dport) {
    return p.put16(sport).put16(dport).zeros(4);
}

Packet& icmp_header(Packet& p, std::uint8_t type, std::uint16_t id) {
    return p.put({type, 0}).put16(0).put16(id).put16(1);
}

Packet tcp4(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport,
            std::uint8_t flags, Ipv4Options o = {}) {
    Packet p = ethernet(0x0800);
    ipv4(p, src, dst, tcp, o);
    return tcp_header(p, sport, dport, flags);
}

Packet udp4(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
    Packet p = ethernet(0x0800);
    ipv4(p, src, dst, udp);
    return udp_header(p, sport, dport);
}

Packet tcp6(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport,
            std::uint8_t flags) {
    Packet p = ethernet(0x86dd);
    ipv6(p, src, dst, tcp);
    return tcp_header(p, sport, dport, flags);
}

class TcDatapath : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        testbed::sweep_debris();
        pins_.emplace(testbed::test_object_name("tc"), runtime::default_bpffs);
        object_.emplace(runtime::DatapathObject::load(KPR_TC_SMALL_OBJECT, *pins_));
        for (auto* prog : object_->programs()) {
            const std::string name = bpf_program__name(prog);
            if (name == "kpr_from_pod")
                from_pod_ = bpf_program__fd(prog);
            if (name == "kpr_to_pod")
                to_pod_ = bpf_program__fd(prog);
        }
        ASSERT_GE(from_pod_, 0);
        ASSERT_GE(to_pod_, 0);
        ipcache4_.emplace(layout::ipcache4, object_->map_fd("kpr_ipcache4"));
        ipcache6_.emplace(layout::ipcache6, object_->map_fd("kpr_ipcache6"));
        endpoints_.emplace(layout::endpoints, object_->map_fd("kpr_endpoint"));
        policy_.emplace(layout::policies, object_->map_fd("kpr_policy"));
        ct4_.emplace(layout::conntrack4, object_->map_fd("kpr_ct4"));
        drops_.emplace(layout::drops, object_->map_fd("kpr_drops"));

        // Pod a: both directions enforced, single ports only. Pod b: ingress
        // enforced. Everything else is world.
        endpoint(pod_a, identity_a, 1u << 16, 1u << 16, 3);
        endpoint(pod_b, identity_b, 1u << 16, 0, layout::endpoint_ingress_enforced);
        ipcache("0.0.0.0", 0, world, 0);
        ipcache("::", 0, world, 0);
        ipcache(a4, 32, identity_a, pod_a);
        ipcache(a6, 128, identity_a, pod_a);
        ipcache(b4, 32, identity_b, pod_b);
        // a may open TCP 80 to b and to the world, UDP 53 to the world; b
        // accepts TCP 80 from a.
        allow(pod_a, egress, identity_b, tcp, 80, 16);
        allow(pod_a, egress, world, tcp, 80, 16);
        allow(pod_a, egress, world, udp, 53, 16);
        allow(pod_b, ingress, identity_a, tcp, 80, 16);
    }

    void TearDown() override {
        object_.reset();
        if (pins_) {
            std::error_code ignored;
            fs::remove_all(pins_->root(), ignored);
        }
    }

    void endpoint(std::uint32_t id, std::uint32_t identity, std::uint32_t ingress_lengths,
                  std::uint32_t egress_lengths, std::uint8_t flags, std::uint32_t revision = 1) {
        endpoints_->update({id}, {identity, ingress_lengths, egress_lengths, revision, flags, {}});
    }

    void ipcache(const char* prefix, std::uint32_t length, std::uint32_t identity,
                 std::uint32_t endpoint_id) {
        const auto a = address(prefix);
        const layout::IpcacheValue value{identity, identity, endpoint_id};
        if (is_v4(prefix)) {
            layout::IpcacheKey4 key{length, {}};
            std::memcpy(&key.address, a.data(), 4);
            ipcache4_->update(key, value);
        } else {
            layout::IpcacheKey6 key{length, {}};
            std::memcpy(key.address.data(), a.data(), 16);
            ipcache6_->update(key, value);
        }
    }

    static layout::PolicyKey policy_key(std::uint32_t id, std::uint8_t direction,
                                        std::uint32_t peer, std::uint8_t proto,
                                        std::uint16_t port, std::uint8_t length) {
        return {id, peer, direction, proto, layout::be16::from_host(port), length, {}};
    }

    void allow(std::uint32_t id, std::uint8_t direction, std::uint32_t peer, std::uint8_t proto,
               std::uint16_t port, std::uint8_t length) {
        policy_->update(policy_key(id, direction, peer, proto, port, length), {1, {}});
    }

    void revoke(std::uint32_t id, std::uint8_t direction, std::uint32_t peer, std::uint8_t proto,
                std::uint16_t port, std::uint8_t length) {
        policy_->erase(policy_key(id, direction, peer, proto, port, length));
    }

    std::uint64_t drops(DropReason reason) const {
        std::uint64_t total = 0;
        for (const auto& c : drops_->lookup({static_cast<std::uint32_t>(reason)}))
            total += c.packets;
        return total;
    }

    int run(int prog, const Packet& p) const {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.bytes.data(),
                    .data_size_in = static_cast<__u32>(p.bytes.size()), .repeat = 1);
        const int err = bpf_prog_test_run_opts(prog, &opts);
        EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-err);
        return static_cast<int>(opts.retval);
    }

    // The packet is dropped, counted once under reason.
    void expect_drop(int prog, const Packet& p, DropReason reason, const std::string& what) {
        const auto before = drops(reason);
        EXPECT_EQ(run(prog, p), TC_ACT_SHOT) << what;
        EXPECT_EQ(drops(reason), before + 1) << what << ": not counted as " << info(reason).name;
    }

    std::optional<layout::ConntrackValue> ct4(const char* src, const char* dst,
                                              std::uint16_t sport, std::uint16_t dport,
                                              std::uint8_t proto, std::uint8_t direction) const {
        return ct4_->lookup(ct4_key(src, dst, sport, dport, proto, direction));
    }

    static layout::ConntrackKey4 ct4_key(const char* src, const char* dst, std::uint16_t sport,
                                         std::uint16_t dport, std::uint8_t proto,
                                         std::uint8_t direction) {
        layout::ConntrackKey4 key{};
        std::memcpy(&key.saddr, address(src).data(), 4);
        std::memcpy(&key.daddr, address(dst).data(), 4);
        key.sport = layout::be16::from_host(sport);
        key.dport = layout::be16::from_host(dport);
        key.proto = proto;
        key.direction = direction;
        return key;
    }

    std::optional<runtime::InstancePaths> pins_;
    std::optional<runtime::DatapathObject> object_;
    int from_pod_ = -1, to_pod_ = -1;
    std::optional<runtime::Map<layout::IpcacheKey4, layout::IpcacheValue>> ipcache4_;
    std::optional<runtime::Map<layout::IpcacheKey6, layout::IpcacheValue>> ipcache6_;
    std::optional<runtime::Map<layout::EndpointKey, layout::EndpointValue>> endpoints_;
    std::optional<runtime::Map<layout::PolicyKey, layout::PolicyValue>> policy_;
    std::optional<runtime::Map<layout::ConntrackKey4, layout::ConntrackValue>> ct4_;
    std::optional<runtime::PerCpuMap<layout::DropKey, layout::DropCount>> drops_;
};

TEST_F(TcDatapath, AllowedTrafficPassesAndLocalPodsGetItThroughRedirectPeer) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn)), TC_ACT_OK);
    EXPECT_EQ(run(from_pod_, tcp4(a4, b4, 40001, 80, syn)), TC_ACT_REDIRECT);
    // Both ends' sides were decided and tracked.
    EXPECT_TRUE(ct4(a4, b4, 40001, 80, tcp, egress));
    EXPECT_TRUE(ct4(a4, b4, 40001, 80, tcp, ingress));
    expect_drop(from_pod_, tcp4(a4, out4, 40002, 81, syn), DropReason::policy_denied_egress,
                "egress to a port no policy allows");
    expect_drop(to_pod_, tcp4(out4, a4, 40003, 80, syn), DropReason::policy_denied_ingress,
                "ingress nothing allows");
    // a may reach b on 443 by its egress policy, b's ingress does not allow it.
    allow(pod_a, egress, identity_b, tcp, 443, 16);
    expect_drop(from_pod_, tcp4(a4, b4, 40004, 443, syn), DropReason::policy_denied_ingress,
                "the destination pod's ingress policy on the redirect path");
}

TEST_F(TcDatapath, NonIpFramesPassAndUnknownInterfacesAreRefused) {
    Packet arp = ethernet(0x0806);
    arp.zeros(28);
    EXPECT_EQ(run(to_pod_, arp), TC_ACT_OK);
    endpoints_->erase({pod_a});
    expect_drop(from_pod_, tcp4(a4, out4, 40000, 80, syn), DropReason::unknown_endpoint,
                "a veth without endpoint entry");
}

TEST_F(TcDatapath, TruncatedHeadersAtEveryLayerAreDroppedByName) {
    // BPF_PROG_TEST_RUN refuses a frame shorter than an Ethernet header, or
    // an IPv4 or IPv6 frame shorter than the fixed IP header, so those three
    // cases (truncated_ethernet, and truncated_ipv4 / truncated_ipv6 at the
    // fixed header) cannot be crafted here; every other layer can.
    Packet with_options = tcp4(out4, a4, 1, 80, syn, {.option_bytes = 8});
    expect_drop(to_pod_, with_options.cut(14 + 24), DropReason::truncated_ipv4,
                "IPv4 options cut short");
    expect_drop(to_pod_, tcp4(out4, a4, 1, 80, syn, {.ihl = 4}), DropReason::invalid_ipv4_header,
                "IPv4 header length 16");
    Packet hop = ethernet(0x86dd);
    ipv6(hop, out6, a6, 0).put({6, 0, 0});
    expect_drop(to_pod_, hop, DropReason::truncated_ipv6_extension, "hop-by-hop header cut");
    expect_drop(to_pod_, tcp4(out4, a4, 1, 80, syn).cut(14 + 20 + 12),
                DropReason::truncated_transport, "TCP header cut at 12 bytes");
    expect_drop(to_pod_, udp4(out4, a4, 1, 53).cut(14 + 20 + 6), DropReason::truncated_transport,
                "UDP header cut at 6 bytes");
    Packet sctp_short = ethernet(0x0800);
    ipv4(sctp_short, out4, a4, sctp).put16(1).put16(80).zeros(4);
    expect_drop(to_pod_, sctp_short, DropReason::truncated_transport, "SCTP header of 8 bytes");
    Packet icmp_short = ethernet(0x0800);
    ipv4(icmp_short, out4, a4, icmp).put({8, 0, 0, 0});
    expect_drop(to_pod_, icmp_short, DropReason::truncated_transport, "ICMP header of 4 bytes");
    Packet tcp6_short = tcp6(out6, a6, 1, 80, syn);
    expect_drop(to_pod_, tcp6_short.cut(14 + 40 + 10), DropReason::truncated_transport,
                "TCP over IPv6 cut at 10 bytes");
}

TEST_F(TcDatapath, Ipv4OptionsAreSkippedAndDecidedLikeAnyPacket) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn, {.option_bytes = 12})), TC_ACT_OK);
    EXPECT_TRUE(ct4(a4, out4, 40000, 80, tcp, egress)) << "ports read past the options";
    expect_drop(from_pod_, tcp4(a4, out4, 40000, 22, syn, {.option_bytes = 40}),
                DropReason::policy_denied_egress, "options must not hide the port");
}

TEST_F(TcDatapath, FirstFragmentsAreDecidedOnTheirPortsOthersOnlyByPortlessRules) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn, {.more_fragments = true})), TC_ACT_OK);
    expect_drop(from_pod_, tcp4(a4, out4, 40001, 22, syn, {.more_fragments = true}),
                DropReason::policy_denied_egress, "first fragment to a denied port");
    // A non-first fragment: its bytes where ports would be are payload, and
    // even "port 80" there must not pass a port-80 rule.
    expect_drop(from_pod_, tcp4(a4, out4, 40000, 80, 0, {.fragment_offset = 185}),
                DropReason::policy_denied_egress, "non-first fragment under a per-port rule");
    Packet frag6 = ethernet(0x86dd);
    ipv6(frag6, a6, out6, 44);
    fragment_header(frag6, tcp, 185, false).zeros(16);
    expect_drop(from_pod_, frag6, DropReason::policy_denied_egress,
                "non-first IPv6 fragment under a per-port rule");
    // A port range starting at 0 (ports 0-1023, the block 0/6) covers the
    // unknown port's placeholder, and still must not let them through.
    allow(pod_a, egress, world, tcp, 0, 6);
    endpoint(pod_a, identity_a, 1u << 16, (1u << 16) | (1u << 6), 3);
    expect_drop(from_pod_, tcp4(a4, out4, 40000, 80, 0, {.fragment_offset = 185}),
                DropReason::policy_denied_egress, "non-first fragment under a 0-1023 rule");
    expect_drop(from_pod_, frag6, DropReason::policy_denied_egress,
                "non-first IPv6 fragment under a 0-1023 rule");
    // A rule allowing every TCP port lets non-first fragments through.
    allow(pod_a, egress, world, tcp, 0, 0);
    endpoint(pod_a, identity_a, 1u << 16, (1u << 16) | 1u, 3);
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, 0, {.fragment_offset = 185})), TC_ACT_OK);
    EXPECT_EQ(run(from_pod_, frag6), TC_ACT_OK);
}

TEST_F(TcDatapath, Ipv6ExtensionChainsAreFollowedToTheTransportHeader) {
    const auto chain = [](std::uint16_t dport, int extensions) {
        Packet p = ethernet(0x86dd);
        const std::uint8_t kinds[] = {0, 43, 60};
        ipv6(p, a6, out6, extensions ? kinds[0] : tcp);
        for (int i = 0; i < extensions; ++i)
            extension(p, i + 1 < extensions ? kinds[(i + 1) % 3] : tcp);
        return tcp_header(p, 40000, dport, syn);
    };
    EXPECT_EQ(run(from_pod_, chain(80, 3)), TC_ACT_OK) << "hop-by-hop, routing, dest-opts";
    expect_drop(from_pod_, chain(22, 3), DropReason::policy_denied_egress,
                "a denied port behind three extension headers");
    EXPECT_EQ(run(from_pod_, chain(80, 8)), TC_ACT_OK) << "the longest chain followed";
    expect_drop(from_pod_, chain(80, 9), DropReason::ipv6_extension_chain_too_long,
                "nine extension headers");
    Packet first = ethernet(0x86dd);
    ipv6(first, a6, out6, 0);
    extension(first, 44);
    fragment_header(first, tcp, 0, true);
    tcp_header(first, 40000, 22, syn);
    expect_drop(from_pod_, first, DropReason::policy_denied_egress,
                "first IPv6 fragment to a denied port");
}

TEST_F(TcDatapath, UnknownProtocolsMatchOnlyRulesWithoutPorts) {
    Packet tunnel = ethernet(0x0800);
    ipv4(tunnel, a4, out4, gre).zeros(8);
    expect_drop(from_pod_, tunnel, DropReason::policy_denied_egress, "GRE under per-port rules");
    Packet tunnel6 = ethernet(0x86dd);
    ipv6(tunnel6, a6, out6, gre).zeros(8);
    expect_drop(from_pod_, tunnel6, DropReason::policy_denied_egress, "GRE over IPv6");
    allow(pod_a, egress, world, 0, 0, 0); // a rule without ports: every protocol
    EXPECT_EQ(run(from_pod_, tunnel), TC_ACT_OK);
    EXPECT_EQ(run(from_pod_, tunnel6), TC_ACT_OK);
}

TEST_F(TcDatapath, RepliesPassUnderDefaultDenyAndNewConnectionsInDoNot) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn)), TC_ACT_OK);
    EXPECT_EQ(ct4(a4, out4, 40000, 80, tcp, egress)->state, 0) << "new";
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, syn | ack)), TC_ACT_OK);
    EXPECT_EQ(ct4(a4, out4, 40000, 80, tcp, egress)->state, 1) << "established by the reply";
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, fin | ack)), TC_ACT_OK);
    EXPECT_EQ(ct4(a4, out4, 40000, 80, tcp, egress)->state, 2) << "closing after a FIN";
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, fin | ack)), TC_ACT_OK);
    expect_drop(to_pod_, tcp4(out4, a4, 80, 40001, syn), DropReason::policy_denied_ingress,
                "the outside opening a connection of its own");
    // UDP and ICMP echo: the same.
    EXPECT_EQ(run(from_pod_, udp4(a4, out4, 5353, 53)), TC_ACT_OK);
    EXPECT_EQ(run(to_pod_, udp4(out4, a4, 53, 5353)), TC_ACT_OK);
    Packet echo = ethernet(0x0800);
    ipv4(echo, a4, out4, icmp);
    icmp_header(echo, 8, 77);
    expect_drop(from_pod_, echo, DropReason::policy_denied_egress,
                "ICMP under rules that all name ports");
    allow(pod_a, egress, world, 0, 0, 0); // a rule without ports
    EXPECT_EQ(run(from_pod_, echo), TC_ACT_OK);
    Packet reply = ethernet(0x0800);
    ipv4(reply, out4, a4, icmp);
    icmp_header(reply, 0, 77);
    EXPECT_EQ(run(to_pod_, reply), TC_ACT_OK);
    Packet other_reply = ethernet(0x0800);
    ipv4(other_reply, out4, a4, icmp);
    icmp_header(other_reply, 0, 78);
    expect_drop(to_pod_, other_reply, DropReason::policy_denied_ingress,
                "an echo reply nobody asked for");
}

TEST_F(TcDatapath, IcmpErrorsAboutTrackedConnectionsAreRelatedOthersMeetPolicy) {
    EXPECT_EQ(run(from_pod_, udp4(a4, out4, 5353, 53)), TC_ACT_OK);
    const auto error_about = [](const char* src, const char* dst, std::uint16_t sport,
                                std::uint16_t dport) {
        Packet p = ethernet(0x0800);
        ipv4(p, "198.51.100.1", a4, icmp);
        icmp_header(p, 3, 0); // destination unreachable
        ipv4(p, src, dst, udp);
        return udp_header(p, sport, dport);
    };
    EXPECT_EQ(run(to_pod_, error_about(a4, out4, 5353, 53)), TC_ACT_OK);
    expect_drop(to_pod_, error_about(a4, out4, 5354, 53), DropReason::policy_denied_ingress,
                "an ICMP error about no tracked connection");
    Packet cut = error_about(a4, out4, 5353, 53);
    expect_drop(to_pod_, cut.cut(14 + 20 + 8 + 10), DropReason::policy_denied_ingress,
                "an ICMP error whose embedded header is cut");
    // ICMPv6: an error about a tracked TCP connection.
    EXPECT_EQ(run(from_pod_, tcp6(a6, out6, 40000, 80, syn)), TC_ACT_OK);
    const auto error6 = [](std::uint16_t sport) {
        Packet p = ethernet(0x86dd);
        ipv6(p, "2001:db8::1", a6, icmpv6);
        icmp_header(p, 1, 0);
        ipv6(p, a6, out6, tcp);
        return tcp_header(p, sport, 80, syn);
    };
    EXPECT_EQ(run(to_pod_, error6(40000)), TC_ACT_OK);
    expect_drop(to_pod_, error6(40001), DropReason::policy_denied_ingress,
                "an ICMPv6 error about no tracked connection");
}

TEST_F(TcDatapath, ExpiredEntriesNoLongerLetRepliesIn) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn)), TC_ACT_OK);
    const auto key = ct4_key(a4, out4, 40000, 80, tcp, egress);
    auto entry = ct4_->lookup(key).value();
    entry.expires_ns = 1; // long past
    ct4_->update(key, entry);
    expect_drop(to_pod_, tcp4(out4, a4, 80, 40000, syn | ack), DropReason::policy_denied_ingress,
                "a reply after its entry expired");
    EXPECT_FALSE(ct4_->lookup(key)) << "the expired entry is removed when met";
}

TEST_F(TcDatapath, TimeoutsComeFromTheSchemaPerState) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const std::uint64_t start = std::uint64_t(now.tv_sec) * 1000000000ull + now.tv_nsec;
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn)), TC_ACT_OK);
    EXPECT_EQ(run(from_pod_, udp4(a4, out4, 5353, 53)), TC_ACT_OK);
    const auto in_seconds = [&](std::uint64_t expires) {
        return static_cast<double>(expires - start) / 1e9;
    };
    // tests/kernel/tc-small.yaml: tcpNewSeconds 5, udpSeconds 3.
    EXPECT_NEAR(in_seconds(ct4(a4, out4, 40000, 80, tcp, egress)->expires_ns), 5, 1);
    EXPECT_NEAR(in_seconds(ct4(a4, out4, 5353, 53, udp, egress)->expires_ns), 3, 1);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, syn | ack)), TC_ACT_OK);
    EXPECT_NEAR(in_seconds(ct4(a4, out4, 40000, 80, tcp, egress)->expires_ns), 600, 1)
        << "tcpEstablishedSeconds";
}

TEST_F(TcDatapath, AFullTableEvictsWithoutBreakingAnActiveFlow) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn)), TC_ACT_OK);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, syn | ack)), TC_ACT_OK);
    // tc-small.yaml's table holds 1024 entries; open eight times as many
    // flows while the first keeps sending.
    const std::uint32_t capacity = ct4_->capacity();
    for (std::uint32_t i = 0; i < 8 * capacity; ++i) {
        const auto port = static_cast<std::uint16_t>(1024 + i % 60000);
        const std::string peer = fmt::format("198.18.{}.{}", (i / 250) % 250, 1 + i % 250);
        ASSERT_EQ(run(from_pod_, tcp4(a4, peer.c_str(), port, 80, syn)), TC_ACT_OK);
        if (i % 64 == 0)
            ASSERT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, ack)), TC_ACT_OK)
                << "the active flow lost its entry after " << i << " new flows";
    }
    std::size_t entries = 0;
    ct4_->for_each([&](const auto&, const auto&) { ++entries; });
    EXPECT_LE(entries, capacity);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, ack)), TC_ACT_OK);
    EXPECT_FALSE(ct4(a4, "198.18.0.1", 1024, 80, tcp, egress)) << "the oldest idle flow stayed";
}

TEST_F(TcDatapath, ARemovedAllowStopsAnEstablishedConnectionThroughTheRevision) {
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, syn)), TC_ACT_OK);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, syn | ack)), TC_ACT_OK);
    // A revision bump with the allow still there: the connection carries on
    // under the new revision.
    endpoint(pod_a, identity_a, 1u << 16, 1u << 16, 3, 2);
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 40000, 80, ack)), TC_ACT_OK);
    EXPECT_EQ(ct4(a4, out4, 40000, 80, tcp, egress)->policy_revision, 2u);
    // The allow removed without a bump: the tracked connection is not
    // decided again (the agent always bumps).
    revoke(pod_a, egress, world, tcp, 80, 16);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 80, 40000, ack)), TC_ACT_OK);
    // With the bump: the reply and the forward direction both stop.
    endpoint(pod_a, identity_a, 1u << 16, 1u << 16, 3, 3);
    expect_drop(to_pod_, tcp4(out4, a4, 80, 40000, ack), DropReason::policy_revoked,
                "a reply of a connection whose allow was removed");
    const auto revoked = ct4(a4, out4, 40000, 80, tcp, egress);
    ASSERT_TRUE(revoked) << "the entry is kept, marked revoked";
    EXPECT_EQ(revoked->state, static_cast<std::uint8_t>(layout::ConntrackState::revoked));
    expect_drop(from_pod_, tcp4(a4, out4, 40000, 80, ack), DropReason::policy_revoked,
                "the connection's next packet out");
    // A new connection on the same tuple is decided afresh: denied now.
    expect_drop(from_pod_, tcp4(a4, out4, 40000, 80, syn), DropReason::policy_denied_egress,
                "a new connection reusing the revoked tuple");
}

// The end whose direction no policy enforces keeps sending after the other
// end's allow went (a retransmission, a server push). Its packet must not
// open the connection anew, or the revoked end's packets would pass as
// replies to it.
TEST_F(TcDatapath, ARevokedConnectionCannotBeReopenedFromItsUnenforcedEnd) {
    endpoint(pod_a, identity_a, 1u << 16, 0, layout::endpoint_ingress_enforced);
    allow(pod_a, ingress, world, tcp, 8080, 16);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 50000, 8080, syn)), TC_ACT_OK);
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 8080, 50000, syn | ack)), TC_ACT_OK);
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 50000, 8080, ack)), TC_ACT_OK);

    revoke(pod_a, ingress, world, tcp, 8080, 16);
    endpoint(pod_a, identity_a, 1u << 16, 0, layout::endpoint_ingress_enforced, 2);
    expect_drop(to_pod_, tcp4(out4, a4, 50000, 8080, ack), DropReason::policy_revoked,
                "the client's packet after the allow went");
    expect_drop(from_pod_, tcp4(a4, out4, 8080, 50000, ack), DropReason::policy_revoked,
                "the server's retransmission");
    EXPECT_FALSE(ct4(a4, out4, 8080, 50000, tcp, egress))
        << "the server's packet opened a connection of its own";
    expect_drop(to_pod_, tcp4(out4, a4, 50000, 8080, ack), DropReason::policy_revoked,
                "the client's next packet");

    // The allow back, with no revision bump (additions never need one):
    // the revoked connection is decided again at its next packet and lives.
    allow(pod_a, ingress, world, tcp, 8080, 16);
    EXPECT_EQ(run(from_pod_, tcp4(a4, out4, 8080, 50000, ack)), TC_ACT_OK);
    EXPECT_EQ(ct4(out4, a4, 50000, 8080, tcp, ingress)->state,
              static_cast<std::uint8_t>(layout::ConntrackState::established));
    EXPECT_EQ(run(to_pod_, tcp4(out4, a4, 50000, 8080, ack)), TC_ACT_OK);
}

} // namespace
} // namespace kpr
