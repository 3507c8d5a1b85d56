// The external path (kpr_from_netdev, and kpr_from_pod's reverse NAT) in
// this kernel, driven by BPF_PROG_TEST_RUN with crafted packets inside a
// network namespace of the test's own (docs/datapath-nodeport.md): DNAT,
// SNAT and reverse NAT rewrite addresses and ports with valid checksums for
// IPv4 and IPv6, TCP and UDP; a full SNAT port range is a counted drop;
// source ranges, local-only frontends and a pod's ingress policy drop by
// name; the Maglev choice is the C++ maglev_table's slot for the flow's
// FNV-1a hash; ClientIP affinity holds within its timeout.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/fnv1a.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/map.hpp"
#include "kpr/runtime/per_cpu_map.hpp"
#include "kpr/sync/maglev_table.hpp"
#include "testbed/debris.hpp"
#include "testbed/inside_netns.hpp"
#include "testbed/netns.hpp"
#include "testbed/privileges.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;
using layout::DropReason;

constexpr std::uint8_t tcp = 6, udp = 17;
constexpr std::uint8_t syn = 0x02, ack = 0x10;
constexpr std::uint32_t maglev_size = 251; // nodeport-small.yaml
constexpr std::uint16_t snat_first = 61000, snat_last = 61001;

// The node's external interface is 192.0.2.1/24 and 2001:db8:1::1/64; the
// client and a backend on another node sit on that link.
struct Family {
    int af;
    const char* node;
    const char* client;
    const char* other_client; // inside the source range of SourceRanges
    const char* remote_backend;
    const char* local_backend; // a pod of this node, behind pod0
};
const Family v4{AF_INET, "192.0.2.1", "192.0.2.50", "198.51.100.7", "192.0.2.60", "10.0.0.5"};
const Family v6{AF_INET6,         "2001:db8:1::1",  "2001:db8:1::50",
                "2001:db8:77::7", "2001:db8:1::60", "fd00::5"};

std::vector<std::uint8_t> address_bytes(const char* text) {
    std::array<std::uint8_t, 16> a{};
    if (inet_pton(AF_INET, text, a.data()) == 1)
        return {a.begin(), a.begin() + 4};
    if (inet_pton(AF_INET6, text, a.data()) == 1)
        return {a.begin(), a.end()};
    throw std::runtime_error(std::string("bad address ") + text);
}

std::array<layout::be32, 4> address_words(const char* text) {
    const auto bytes = address_bytes(text);
    std::array<layout::be32, 4> out{};
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

std::uint32_t sum16(const std::uint8_t* data, std::size_t length, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < length; i += 2)
        sum += std::uint32_t(data[i]) << 8 | data[i + 1];
    if (length % 2)
        sum += std::uint32_t(data[length - 1]) << 8;
    return sum;
}

std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

// A frame as it is on the wire: Ethernet, IPv4 or IPv6, TCP or UDP, with
// correct lengths and checksums, and the fields read back from it.
struct Frame {
    std::vector<std::uint8_t> bytes;

    bool v4() const { return bytes[12] == 0x08; }
    std::size_t l3() const { return 14; }
    std::size_t l4() const { return v4() ? 34 : 54; }
    std::uint8_t proto() const { return v4() ? bytes[23] : bytes[20]; }
    std::string address(std::size_t offset) const {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(v4() ? AF_INET : AF_INET6, bytes.data() + offset, text, sizeof text);
        return text;
    }
    std::string saddr() const { return address(v4() ? 26 : 22); }
    std::string daddr() const { return address(v4() ? 30 : 38); }
    std::uint16_t port(std::size_t at) const {
        return std::uint16_t(bytes[l4() + at] << 8 | bytes[l4() + at + 1]);
    }
    std::uint16_t sport() const { return port(0); }
    std::uint16_t dport() const { return port(2); }

    // The sum over the pseudo-header and the segment, which folds to 0xffff
    // when the transport checksum is right.
    std::uint16_t transport_sum() const {
        const std::size_t length = bytes.size() - l4();
        std::uint32_t sum = 0;
        if (v4())
            sum = sum16(bytes.data() + 26, 8);
        else
            sum = sum16(bytes.data() + 22, 32);
        sum += proto();
        sum += static_cast<std::uint32_t>(length);
        return fold(sum16(bytes.data() + l4(), length, sum));
    }
    bool checksums_valid() const {
        if (v4() && fold(sum16(bytes.data() + l3(), 20)) != 0xffff)
            return false;
        return transport_sum() == 0xffff;
    }
};

Frame frame(const char* src, const char* dst, std::uint8_t proto, std::uint16_t sport,
            std::uint16_t dport, std::uint8_t tcp_flags = syn) {
    const auto s = address_bytes(src), d = address_bytes(dst);
    const bool is_v4 = s.size() == 4;
    const std::vector<std::uint8_t> payload{'k', 'p', 'r', '!', '?'};
    std::vector<std::uint8_t> l4(proto == tcp ? 20 : 8, 0);
    l4[0] = sport >> 8, l4[1] = sport & 0xff, l4[2] = dport >> 8, l4[3] = dport & 0xff;
    if (proto == tcp) {
        l4[12] = 0x50;
        l4[13] = tcp_flags;
        l4[14] = 0xff; // window
    } else {
        l4[4] = std::uint8_t((8 + payload.size()) >> 8);
        l4[5] = std::uint8_t(8 + payload.size());
    }
    l4.insert(l4.end(), payload.begin(), payload.end());
    Frame f;
    f.bytes = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    f.bytes.push_back(is_v4 ? 0x08 : 0x86);
    f.bytes.push_back(is_v4 ? 0x00 : 0xdd);
    if (is_v4) {
        const std::size_t total = 20 + l4.size();
        std::vector<std::uint8_t> ip{
            0x45, 0, std::uint8_t(total >> 8), std::uint8_t(total), 0x12, 0x34, 0x40, 0, 64, proto,
            0,    0};
        ip.insert(ip.end(), s.begin(), s.end());
        ip.insert(ip.end(), d.begin(), d.end());
        const std::uint16_t check = ~fold(sum16(ip.data(), ip.size()));
        ip[10] = check >> 8, ip[11] = check & 0xff;
        f.bytes.insert(f.bytes.end(), ip.begin(), ip.end());
    } else {
        std::vector<std::uint8_t> ip{
            0x60, 0, 0, 0, std::uint8_t(l4.size() >> 8), std::uint8_t(l4.size()), proto, 64};
        ip.insert(ip.end(), s.begin(), s.end());
        ip.insert(ip.end(), d.begin(), d.end());
        f.bytes.insert(f.bytes.end(), ip.begin(), ip.end());
    }
    f.bytes.insert(f.bytes.end(), l4.begin(), l4.end());
    const std::size_t at = f.l4() + (proto == tcp ? 16 : 6);
    const std::uint16_t check = ~f.transport_sum();
    f.bytes[at] = check >> 8, f.bytes[at + 1] = check & 0xff;
    return f;
}

// The flow hash of lib/flow_hash.h, by its definition: FNV-1a over source
// and destination address, source and destination port, protocol.
std::uint64_t flow_hash(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport,
                        std::uint8_t proto) {
    std::string bytes;
    for (const char* a : {src, dst})
        for (auto b : address_bytes(a))
            bytes.push_back(static_cast<char>(b));
    for (std::uint16_t port : {sport, dport}) {
        bytes.push_back(static_cast<char>(port >> 8));
        bytes.push_back(static_cast<char>(port & 0xff));
    }
    bytes.push_back(static_cast<char>(proto));
    return fnv1a64(bytes);
}

std::uint64_t monotonic_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return std::uint64_t(t.tv_sec) * 1000000000ull + std::uint64_t(t.tv_nsec);
}

struct Outcome {
    int verdict;
    Frame out;
};

class NodePortDatapath : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        testbed::sweep_debris();
        ns_.emplace(testbed::test_object_name("np"));
        // Veth pairs inside the namespace stand for the external interface
        // and a pod's host-side veth; nothing leaves the namespace.
        ns_->ip({"link", "add", "ext0", "type", "veth", "peer", "name", "ext0p"});
        ns_->ip({"link", "add", "pod0", "type", "veth", "peer", "name", "pod0p"});
        for (const char* dev : {"ext0", "ext0p", "pod0", "pod0p"})
            ns_->ip({"link", "set", dev, "up"});
        ns_->ip({"addr", "add", "192.0.2.1/24", "dev", "ext0"});
        ns_->ip({"-6", "addr", "add", "2001:db8:1::1/64", "dev", "ext0", "nodad"});
        ns_->ip({"route", "add", "198.51.100.0/24", "via", "192.0.2.254"});
        ns_->ip({"-6", "route", "add", "2001:db8:77::/64", "via", "2001:db8:1::fe"});
        ns_->ip({"route", "add", "10.0.0.5/32", "dev", "pod0"});
        ns_->ip({"-6", "route", "add", "fd00::5/128", "dev", "pod0"});
        ns_->run(
            {"sysctl", "-qw", "net.ipv4.conf.all.forwarding=1", "net.ipv6.conf.all.forwarding=1"});
        {
            testbed::InsideNetns inside(*ns_);
            ext0_ = static_cast<int>(if_nametoindex("ext0"));
            pod0_ = static_cast<int>(if_nametoindex("pod0"));
        }
        ASSERT_GT(ext0_, 0);
        ASSERT_GT(pod0_, 0);

        pins_.emplace(testbed::test_object_name("np"), runtime::default_bpffs);
        object_.emplace(runtime::DatapathObject::load(KPR_NODEPORT_TC_OBJECT, *pins_));
        for (auto* prog : object_->programs()) {
            const std::string name = bpf_program__name(prog);
            if (name == "kpr_from_netdev")
                from_netdev_ = bpf_program__fd(prog);
            if (name == "kpr_from_pod")
                from_pod_ = bpf_program__fd(prog);
        }
        ASSERT_GE(from_netdev_, 0);
        ASSERT_GE(from_pod_, 0);
        const auto fd = [&](std::string_view name) { return object_->map_fd(name); };
        svc4_.emplace(layout::services4, fd("kpr_svc4"));
        svc6_.emplace(layout::services6, fd("kpr_svc6"));
        backend4_.emplace(layout::backends4, fd("kpr_backend4"));
        backend6_.emplace(layout::backends6, fd("kpr_backend6"));
        nodeaddr_.emplace(layout::node_addresses, fd("kpr_nodeaddr"));
        srcrange4_.emplace(layout::source_ranges4, fd("kpr_srcrange4"));
        maglev_.emplace(layout::maglev_tables, fd("kpr_maglev"));
        affinity_.emplace(layout::affinity, fd("kpr_affinity"));
        nat4_.emplace(layout::nat4, fd("kpr_nat4"));
        ipcache4_.emplace(layout::ipcache4, fd("kpr_ipcache4"));
        ipcache6_.emplace(layout::ipcache6, fd("kpr_ipcache6"));
        endpoints_.emplace(layout::endpoints, fd("kpr_endpoint"));
        drops_.emplace(layout::drops, fd("kpr_drops"));

        nodeaddr_->update({layout::node_address_ipv4}, {address_words(v4.node)});
        nodeaddr_->update({layout::node_address_ipv6}, {address_words(v6.node)});
        ipcache("0.0.0.0", 0, 2, 0);
        ipcache("::", 0, 2, 0);
        ipcache(v4.local_backend, 32, 1000, static_cast<std::uint32_t>(pod0_));
        ipcache(v6.local_backend, 128, 1000, static_cast<std::uint32_t>(pod0_));
        // The local pod enforces nothing unless a test says so.
        endpoints_->update({static_cast<std::uint32_t>(pod0_)}, {1000, 0, 0, 1, 0, {}});
    }

    void TearDown() override {
        object_.reset();
        if (pins_) {
            std::error_code ignored;
            fs::remove_all(pins_->root(), ignored);
        }
        ns_.reset();
    }

    void ipcache(const char* prefix, std::uint32_t length, std::uint32_t identity,
                 std::uint32_t endpoint_id) {
        const layout::IpcacheValue value{identity, identity, endpoint_id};
        const auto words = address_words(prefix);
        if (address_bytes(prefix).size() == 4)
            ipcache4_->update({length, words[0]}, value);
        else
            ipcache6_->update({length, words}, value);
    }

    void backend(std::uint32_t id, const char* address, std::uint16_t port) {
        const auto words = address_words(address);
        if (address_bytes(address).size() == 4)
            backend4_->update({id}, {words[0], layout::be16::from_host(port), tcp, 0});
        else
            backend6_->update({id}, {words, layout::be16::from_host(port), tcp, 0});
    }

    // A frontend (address, port, proto) with its backends in slots 1..n.
    void frontend(const char* address, std::uint16_t port, std::uint8_t proto,
                  std::uint16_t rev_nat_id, std::uint16_t flags,
                  const std::vector<std::uint32_t>& backends, std::uint16_t maglev_table = 0,
                  std::uint32_t affinity_seconds = 0) {
        const auto words = address_words(address);
        const auto put = [&](std::uint16_t slot, const layout::ServiceValue& value) {
            if (address_bytes(address).size() == 4)
                svc4_->update({words[0], layout::be16::from_host(port), proto, 0, slot, 0}, value);
            else
                svc6_->update({words, layout::be16::from_host(port), proto, 0, slot, 0}, value);
        };
        for (std::size_t i = 0; i < backends.size(); ++i)
            put(static_cast<std::uint16_t>(i + 1), {backends[i], 0, rev_nat_id, 0, 0, 0});
        put(0, {0, static_cast<std::uint16_t>(backends.size()), rev_nat_id,
                static_cast<std::uint16_t>(flags | layout::service_flag_external), maglev_table,
                affinity_seconds});
    }

    Outcome run(int prog, const Frame& in, int ifindex) const {
        testbed::InsideNetns inside(*ns_);
        Outcome r{0, {std::vector<std::uint8_t>(in.bytes.size() + 64)}};
        __sk_buff ctx{};
        ctx.ifindex = static_cast<__u32>(ifindex);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.bytes.data(),
                    .data_out = r.out.bytes.data(),
                    .data_size_in = static_cast<__u32>(in.bytes.size()),
                    .data_size_out = static_cast<__u32>(r.out.bytes.size()), .ctx_in = &ctx,
                    .ctx_size_in = sizeof ctx, .repeat = 1);
        const int err = bpf_prog_test_run_opts(prog, &opts);
        EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-err);
        r.verdict = static_cast<int>(opts.retval);
        r.out.bytes.resize(opts.data_size_out);
        return r;
    }
    Outcome from_netdev(const Frame& in) const { return run(from_netdev_, in, ext0_); }
    Outcome from_pod(const Frame& in) const { return run(from_pod_, in, pod0_); }

    std::uint64_t drops(DropReason reason) const {
        std::uint64_t total = 0;
        for (const auto& c : drops_->lookup({static_cast<std::uint32_t>(reason)}))
            total += c.packets;
        return total;
    }

    void expect_drop(const Frame& in, DropReason reason, const std::string& what) {
        const auto before = drops(reason);
        EXPECT_EQ(from_netdev(in).verdict, TC_ACT_SHOT) << what;
        EXPECT_EQ(drops(reason), before + 1) << what << ": not counted as " << info(reason).name;
    }

    std::optional<testbed::NetNs> ns_;
    int ext0_ = 0, pod0_ = 0;
    std::optional<runtime::InstancePaths> pins_;
    std::optional<runtime::DatapathObject> object_;
    int from_netdev_ = -1, from_pod_ = -1;
    std::optional<runtime::Map<layout::ServiceKey4, layout::ServiceValue>> svc4_;
    std::optional<runtime::Map<layout::ServiceKey6, layout::ServiceValue>> svc6_;
    std::optional<runtime::Map<layout::BackendKey, layout::Backend4>> backend4_;
    std::optional<runtime::Map<layout::BackendKey, layout::Backend6>> backend6_;
    std::optional<runtime::Map<layout::NodeAddressKey, layout::NodeAddress>> nodeaddr_;
    std::optional<runtime::Map<layout::SourceRangeKey4, layout::SourceRangeValue>> srcrange4_;
    std::optional<runtime::Map<layout::MaglevKey, layout::MaglevValue>> maglev_;
    std::optional<runtime::Map<layout::AffinityKey, layout::AffinityValue>> affinity_;
    std::optional<runtime::Map<layout::NatKey4, layout::NatValue4>> nat4_;
    std::optional<runtime::Map<layout::IpcacheKey4, layout::IpcacheValue>> ipcache4_;
    std::optional<runtime::Map<layout::IpcacheKey6, layout::IpcacheValue>> ipcache6_;
    std::optional<runtime::Map<layout::EndpointKey, layout::EndpointValue>> endpoints_;
    std::optional<runtime::PerCpuMap<layout::DropKey, layout::DropCount>> drops_;
};

struct Case {
    const Family* family;
    std::uint8_t proto;
};

class NodePortTranslation : public NodePortDatapath, public testing::WithParamInterface<Case> {};

// A client's flow to a NodePort whose backend is on another node: DNAT to
// the backend and SNAT to the node's address and a port of the range; the
// backend's reply comes back from the NodePort to the client; checksums are
// right at every step; the next packet reuses the entries.
TEST_P(NodePortTranslation, DnatSnatAndReverseNatRewriteWithValidChecksums) {
    const Family& f = *GetParam().family;
    const std::uint8_t proto = GetParam().proto;
    backend(1, f.remote_backend, 8080);
    frontend(f.node, 30080, proto, 7, 0, {1});

    const Frame first = frame(f.client, f.node, proto, 12345, 30080);
    ASSERT_TRUE(first.checksums_valid()) << "the test's own frame";
    const Outcome forward = from_netdev(first);
    ASSERT_EQ(forward.verdict, TC_ACT_REDIRECT) << "sent on by FIB and bpf_redirect_neigh";
    EXPECT_EQ(forward.out.saddr(), f.node) << "SNAT to the node's address";
    EXPECT_GE(forward.out.sport(), snat_first);
    EXPECT_LE(forward.out.sport(), snat_last);
    EXPECT_EQ(forward.out.daddr(), f.remote_backend);
    EXPECT_EQ(forward.out.dport(), 8080);
    EXPECT_TRUE(forward.out.checksums_valid()) << "after DNAT and SNAT";

    const std::uint16_t snat_port = forward.out.sport();
    const Outcome reply =
        from_netdev(frame(f.remote_backend, f.node, proto, 8080, snat_port, syn | ack));
    ASSERT_EQ(reply.verdict, TC_ACT_REDIRECT);
    EXPECT_EQ(reply.out.saddr(), f.node) << "the reply comes from the NodePort";
    EXPECT_EQ(reply.out.sport(), 30080);
    EXPECT_EQ(reply.out.daddr(), f.client);
    EXPECT_EQ(reply.out.dport(), 12345);
    EXPECT_TRUE(reply.out.checksums_valid()) << "after reverse NAT";

    const Outcome next = from_netdev(frame(f.client, f.node, proto, 12345, 30080, ack));
    ASSERT_EQ(next.verdict, TC_ACT_REDIRECT);
    EXPECT_EQ(next.out.sport(), snat_port) << "the established flow keeps its SNAT port";
    EXPECT_EQ(next.out.daddr(), f.remote_backend);
    EXPECT_TRUE(next.out.checksums_valid());
}

INSTANTIATE_TEST_SUITE_P(FamiliesAndProtocols, NodePortTranslation,
                         testing::Values(Case{&v4, tcp}, Case{&v4, udp}, Case{&v6, tcp},
                                         Case{&v6, udp}),
                         [](const auto& info) {
                             return fmt::format("{}{}", info.param.family == &v4 ? "IPv4" : "IPv6",
                                                info.param.proto == tcp ? "Tcp" : "Udp");
                         });

TEST_F(NodePortDatapath, OnlyExternalFrontendsAreTranslatedTheRestIsTheNodes) {
    backend(1, v4.remote_backend, 8080);
    frontend(v4.node, 30080, tcp, 7, 0, {1});
    // A ClusterIP frontend (no external flag) is the socket path's.
    const auto words = address_words("10.96.0.10");
    svc4_->update({words[0], layout::be16::from_host(80), tcp, 0, 0, 0}, {0, 1, 8, 0, 0, 0});
    svc4_->update({words[0], layout::be16::from_host(80), tcp, 0, 1, 0}, {1, 0, 8, 0, 0, 0});
    EXPECT_EQ(from_netdev(frame(v4.client, "10.96.0.10", tcp, 1000, 80)).verdict, TC_ACT_OK);
    EXPECT_EQ(from_netdev(frame(v4.client, v4.node, tcp, 1000, 22)).verdict, TC_ACT_OK)
        << "the node's own service";
    const Outcome untouched = from_netdev(frame(v4.client, v4.node, udp, 1000, 30080));
    EXPECT_EQ(untouched.verdict, TC_ACT_OK) << "the NodePort is TCP only";
}

TEST_F(NodePortDatapath, AFullSnatPortRangeIsACountedDrop) {
    backend(1, v4.remote_backend, 8080);
    frontend(v4.node, 30080, tcp, 7, 0, {1});
    std::set<std::uint16_t> ports;
    for (std::uint16_t client_port : {2001, 2002}) {
        const Outcome r = from_netdev(frame(v4.client, v4.node, tcp, client_port, 30080));
        ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
        ports.insert(r.out.sport());
    }
    EXPECT_EQ(ports.size(), 2u) << "two flows, the range's two ports";
    expect_drop(frame(v4.client, v4.node, tcp, 2003, 30080), DropReason::snat_ports_exhausted,
                "a third flow to the same backend");
    EXPECT_EQ(from_netdev(frame(v4.client, v4.node, tcp, 2001, 30080, ack)).verdict,
              TC_ACT_REDIRECT)
        << "the existing flows keep their ports";
    // An expired flow's port is taken over.
    std::vector<std::pair<layout::NatKey4, layout::NatValue4>> entries;
    nat4_->for_each([&](const auto& k, const auto& v) { entries.emplace_back(k, v); });
    for (auto& [k, v] : entries) {
        v.expires_ns = 1;
        nat4_->update(k, v);
    }
    EXPECT_EQ(from_netdev(frame(v4.client, v4.node, tcp, 2003, 30080)).verdict, TC_ACT_REDIRECT);
}

TEST_F(NodePortDatapath, MissingNodeAddressAndEmptyFrontendsAreCountedDrops) {
    frontend(v4.node, 30081, tcp, 8, 0, {});
    expect_drop(frame(v4.client, v4.node, tcp, 3000, 30081), DropReason::no_backend,
                "eTP Cluster without backends");
    frontend(v4.node, 30082, tcp, 9, layout::service_flag_local_only, {});
    expect_drop(frame(v4.client, v4.node, tcp, 3000, 30082), DropReason::no_local_backend,
                "eTP Local without a local backend");
    backend(1, v4.remote_backend, 8080);
    frontend(v4.node, 30083, tcp, 10, 0, {1});
    nodeaddr_->update({layout::node_address_ipv4}, {});
    expect_drop(frame(v4.client, v4.node, tcp, 3000, 30083), DropReason::no_node_address,
                "SNAT without a node address");
}

TEST_F(NodePortDatapath, SourceRangesAdmitOnlyTheirClients) {
    backend(1, v4.remote_backend, 8080);
    frontend("203.0.113.10", 80, tcp, 11, layout::service_flag_source_ranges, {1});
    srcrange4_->update(
        {layout::source_range_prefix_bits + 24, 11, 0, address_words("198.51.100.0")[0]}, {1});
    // Another frontend's range does not count.
    srcrange4_->update(
        {layout::source_range_prefix_bits + 24, 12, 0, address_words("192.0.2.0")[0]}, {1});
    expect_drop(frame(v4.client, "203.0.113.10", tcp, 4000, 80), DropReason::source_range_denied,
                "a client outside the ranges");
    const Outcome admitted = from_netdev(frame(v4.other_client, "203.0.113.10", tcp, 4000, 80));
    EXPECT_EQ(admitted.verdict, TC_ACT_REDIRECT);
    EXPECT_EQ(admitted.out.daddr(), v4.remote_backend);
}

// eTP Local and local backends: no SNAT, the pod sees the client; it enters
// the pod by bpf_redirect_peer after its ingress policy; its reply is
// turned back in kpr_from_pod.
TEST_F(NodePortDatapath, LocalBackendsSeeTheClientAndTheirRepliesAreTurnedBack) {
    for (const Family* f : {&v4, &v6}) {
        SCOPED_TRACE(f->node);
        backend(2, f->local_backend, 8080);
        frontend(f->node, 30090, tcp, 12, layout::service_flag_local_only, {2});
        const Outcome in = from_netdev(frame(f->client, f->node, tcp, 5000, 30090));
        ASSERT_EQ(in.verdict, TC_ACT_REDIRECT) << "bpf_redirect_peer into the pod";
        EXPECT_EQ(in.out.saddr(), f->client) << "the client's address is kept";
        EXPECT_EQ(in.out.sport(), 5000);
        EXPECT_EQ(in.out.daddr(), f->local_backend);
        EXPECT_TRUE(in.out.checksums_valid());
        const Outcome out =
            from_pod(frame(f->local_backend, f->client, tcp, 8080, 5000, syn | ack));
        ASSERT_EQ(out.verdict, TC_ACT_REDIRECT) << "sent to the client by FIB";
        EXPECT_EQ(out.out.saddr(), f->node) << "the reply comes from the NodePort";
        EXPECT_EQ(out.out.sport(), 30090);
        EXPECT_EQ(out.out.daddr(), f->client);
        EXPECT_TRUE(out.out.checksums_valid());
    }
}

TEST_F(NodePortDatapath, APodsIngressPolicyAppliesAfterDnat) {
    backend(2, v4.local_backend, 8080);
    frontend(v4.node, 30091, tcp, 13, 0, {2});
    // Ingress enforced, single ports, nothing allowed: world is denied.
    endpoints_->update({static_cast<std::uint32_t>(pod0_)},
                       {1000, 1u << 16, 0, 2, layout::endpoint_ingress_enforced, {}});
    expect_drop(frame(v4.client, v4.node, tcp, 6000, 30091), DropReason::policy_denied_ingress,
                "a NodePort flow to a pod whose policy denies world");
}

TEST_F(NodePortDatapath, MaglevPicksTheTableSlotOfTheFlowHash) {
    const std::vector<std::string> names{"a", "b", "c", "d", "e"};
    const auto table = sync::maglev_table(names, maglev_size);
    ASSERT_EQ(table.size(), maglev_size);
    const std::vector<const char*> addresses{"192.0.2.61", "192.0.2.62", "192.0.2.63", "192.0.2.64",
                                             "192.0.2.65"};
    for (std::uint32_t i = 0; i < addresses.size(); ++i)
        backend(i + 1, addresses[i], 8080);
    constexpr std::uint16_t table_index = 3;
    for (std::uint32_t slot = 0; slot < maglev_size; ++slot)
        maglev_->update({table_index * maglev_size + slot}, {table[slot] + 1});
    // Slots 1..5 hold every backend, so a random pick could land anywhere.
    // Local-only (no SNAT), so the two-port SNAT range does not cap the
    // number of flows.
    frontend("203.0.113.20", 443, udp, 14,
             layout::service_flag_maglev | layout::service_flag_local_only, {1, 2, 3, 4, 5},
             table_index);
    std::set<std::string> seen;
    for (std::uint16_t client_port = 7000; client_port < 7040; ++client_port) {
        const Outcome r = from_netdev(frame(v4.client, "203.0.113.20", udp, client_port, 443));
        ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
        const auto slot = flow_hash(v4.client, "203.0.113.20", client_port, 443, udp) % maglev_size;
        EXPECT_EQ(r.out.daddr(), addresses[table[slot]]) << "client port " << client_port;
        seen.insert(r.out.daddr());
    }
    EXPECT_GT(seen.size(), 2u) << "40 flows spread over the backends";
}

TEST_F(NodePortDatapath, ClientIpAffinityHoldsWithinItsTimeout) {
    const std::vector<const char*> addresses{"192.0.2.61", "192.0.2.62", "192.0.2.63",
                                             "192.0.2.64"};
    for (std::uint32_t i = 0; i < addresses.size(); ++i)
        backend(i + 1, addresses[i], 8080);
    // Local-only (no SNAT), so the two-port SNAT range does not cap the
    // number of flows.
    frontend("203.0.113.30", 80, tcp, 15,
             layout::service_flag_affinity | layout::service_flag_local_only, {1, 2, 3, 4}, 0, 600);
    const Outcome first = from_netdev(frame(v4.client, "203.0.113.30", tcp, 8000, 80));
    ASSERT_EQ(first.verdict, TC_ACT_REDIRECT);
    for (std::uint16_t client_port = 8001; client_port < 8021; ++client_port) {
        const Outcome r = from_netdev(frame(v4.client, "203.0.113.30", tcp, client_port, 80));
        ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
        EXPECT_EQ(r.out.daddr(), first.out.daddr()) << "client port " << client_port;
    }
    // The entry as the program keeps it: the client's address, cookie 0.
    layout::AffinityKey key{};
    key.client_address = address_words(v4.client);
    key.rev_nat_id = 15;
    key.family = 4;
    const auto entry = affinity_->lookup(key);
    ASSERT_TRUE(entry);
    // Within the timeout the recorded backend wins; past it, the flow
    // chooses anew and records its choice now.
    affinity_->update(key, {monotonic_ns(), 3, {}});
    EXPECT_EQ(from_netdev(frame(v4.client, "203.0.113.30", tcp, 8100, 80)).out.daddr(),
              addresses[2]);
    const std::uint64_t stale = monotonic_ns() - 601ull * 1000000000ull;
    affinity_->update(key, {stale, 3, {}});
    ASSERT_EQ(from_netdev(frame(v4.client, "203.0.113.30", tcp, 8101, 80)).verdict,
              TC_ACT_REDIRECT);
    EXPECT_GT(affinity_->lookup(key)->last_used_ns, stale + 600ull * 1000000000ull)
        << "a stale entry is replaced by the new choice";
    // A backend that went away is not chosen by affinity.
    affinity_->update(key, {monotonic_ns(), 99, {}});
    const Outcome gone = from_netdev(frame(v4.client, "203.0.113.30", tcp, 8102, 80));
    ASSERT_EQ(gone.verdict, TC_ACT_REDIRECT);
    EXPECT_NE(std::find(addresses.begin(), addresses.end(), gone.out.daddr()), addresses.end());
}

} // namespace
} // namespace kpr
