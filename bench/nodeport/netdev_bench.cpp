// kpr-bench-nodeport-tc: nanoseconds per packet of the external path's
// program, kpr_from_netdev, measured in the kernel with BPF_PROG_TEST_RUN
// and printed as ratios against a baseline measured in the same run: a
// packet to the node's address on a port no Service uses (parsed, looked
// up, handed to the stack). The two figures:
//   new flow    - the first packet of a connection to a NodePort: frontend
//                 lookup, backend choice, SNAT port claim, both NAT
//                 entries written, DNAT+SNAT rewrite, FIB lookup, redirect
//                 (a new source port per packet, so each is new);
//   established - the next packets of that connection: forward NAT entry
//                 found, rewrite, FIB lookup, redirect.
// Every figure is the median of single-packet runs: a test run with
// repeats hands each repeat the packet the previous one rewrote, so a
// translated flow can only be timed one packet at a time (the baseline is
// timed the same way, so the ratios compare like with like).
// The object is loaded into a bpffs instance of the run's own and driven
// inside a network namespace of its own (its external interface a veth
// pair with nothing outside): nothing is attached and no packet leaves.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/map.hpp"
#include "testbed/debris.hpp"
#include "testbed/inside_netns.hpp"
#include "testbed/netns.hpp"
#include "testbed/privileges.hpp"

namespace {

using namespace kpr;

constexpr std::uint8_t tcp = 6;
constexpr std::uint8_t syn = 0x02, ack = 0x10;
constexpr std::uint16_t node_port = 30000;
constexpr int backends = 4;

std::array<std::uint8_t, 4> v4(const char* text) {
    std::array<std::uint8_t, 4> a{};
    if (::inet_pton(AF_INET, text, a.data()) != 1)
        throw std::runtime_error(fmt::format("bad address {}", text));
    return a;
}

layout::be32 word(const char* text) {
    const auto a = v4(text);
    std::uint32_t raw;
    std::memcpy(&raw, a.data(), 4);
    return layout::be32::from_network(raw);
}

std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2)
        sum += std::uint32_t(p[i]) << 8 | p[i + 1];
    return sum;
}

// Ethernet, IPv4 and a TCP segment with valid checksums.
std::vector<std::uint8_t> tcp_frame(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport,
                                    std::uint8_t flags) {
    std::vector<std::uint8_t> f{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00};
    std::vector<std::uint8_t> ip{0x45, 0, 0, 40, 0x12, 0x34, 0x40, 0, 64, tcp, 0, 0};
    const auto s = v4(src), d = v4(dst);
    ip.insert(ip.end(), s.begin(), s.end());
    ip.insert(ip.end(), d.begin(), d.end());
    const std::uint16_t ip_check = ~fold(sum16(ip.data(), ip.size()));
    ip[10] = ip_check >> 8, ip[11] = ip_check & 0xff;
    std::vector<std::uint8_t> l4(20, 0);
    l4[0] = sport >> 8, l4[1] = sport & 0xff, l4[2] = dport >> 8, l4[3] = dport & 0xff;
    l4[12] = 0x50, l4[13] = flags, l4[14] = 0xff;
    std::uint32_t pseudo = sum16(ip.data() + 12, 8) + tcp + 20;
    const std::uint16_t l4_check = ~fold(sum16(l4.data(), l4.size(), pseudo));
    l4[16] = l4_check >> 8, l4[17] = l4_check & 0xff;
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), l4.begin(), l4.end());
    return f;
}

struct Run {
    double ns;
    int verdict;
};

class NetdevBench {
  public:
    NetdevBench()
        : ns_(testbed::test_object_name("nptc")), pins_(testbed::test_object_name("nptc"), runtime::default_bpffs) {
        // ext0 is the node's external interface; the client and the backends sit on its link.
        ns_.ip({"link", "add", "ext0", "type", "veth", "peer", "name", "ext0p"});
        for (const char* dev : {"ext0", "ext0p"})
            ns_.ip({"link", "set", dev, "up"});
        ns_.ip({"addr", "add", "192.0.2.1/24", "dev", "ext0"});
        ns_.run({"sysctl", "-qw", "net.ipv4.conf.all.forwarding=1"});
        {
            testbed::InsideNetns inside(ns_);
            ext0_ = static_cast<int>(::if_nametoindex("ext0"));
        }
        object_.emplace(runtime::DatapathObject::load(KPR_NODEPORT_TC_OBJECT, pins_));
        for (auto* prog : object_->programs())
            if (std::string_view(bpf_program__name(prog)) == "kpr_from_netdev")
                program_ = bpf_program__fd(prog);
        if (program_ < 0)
            throw std::runtime_error("the object has no kpr_from_netdev");
        const auto fd = [&](std::string_view name) { return object_->map_fd(name); };
        runtime::Map<layout::NodeAddressKey, layout::NodeAddress>(layout::node_addresses, fd("kpr_nodeaddr"))
            .update({layout::node_address_ipv4}, {{word("192.0.2.1")}});
        runtime::Map<layout::IpcacheKey4, layout::IpcacheValue>(layout::ipcache4, fd("kpr_ipcache4"))
            .update({0, word("0.0.0.0")}, {2, 2, 0});
        runtime::Map<layout::BackendKey, layout::Backend4> backend4(layout::backends4, fd("kpr_backend4"));
        runtime::Map<layout::ServiceKey4, layout::ServiceValue> svc4(layout::services4, fd("kpr_svc4"));
        const auto port = layout::be16::from_host(node_port);
        for (std::uint32_t id = 1; id <= backends; ++id) {
            const auto address = fmt::format("192.0.2.{}", 59 + id);
            backend4.update({id}, {word(address.c_str()), layout::be16::from_host(8080), tcp, 0});
            svc4.update({word("192.0.2.1"), port, tcp, 0, static_cast<std::uint16_t>(id), 0}, {id, 0, 1, 0, 0, 0});
        }
        svc4.update({word("192.0.2.1"), port, tcp, 0, 0, 0},
                    {0, backends, 1, layout::service_flag_external, 0, 0});
    }

    ~NetdevBench() {
        object_.reset();
        std::error_code ignored;
        std::filesystem::remove_all(pins_.root(), ignored);
    }

    // Forgets every translated flow (between rounds, untimed), so the SNAT
    // port range never fills up.
    void clear_flows() const {
        runtime::Map<layout::NatKey4, layout::NatValue4> nat(layout::nat4, object_->map_fd("kpr_nat4"));
        std::vector<layout::NatKey4> keys;
        nat.for_each([&](const layout::NatKey4& k, const layout::NatValue4&) { keys.push_back(k); });
        nat.erase_batch(keys);
    }

    Run run(const std::vector<std::uint8_t>& frame) const {
        testbed::InsideNetns inside(ns_);
        std::vector<std::uint8_t> out(frame.size() + 64);
        __sk_buff ctx{};
        ctx.ifindex = static_cast<__u32>(ext0_);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                    .data_size_in = static_cast<__u32>(frame.size()),
                    .data_size_out = static_cast<__u32>(out.size()), .ctx_in = &ctx, .ctx_size_in = sizeof ctx,
                    .repeat = 1);
        if (const int err = bpf_prog_test_run_opts(program_, &opts); err != 0)
            throw std::runtime_error(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(-err)));
        return {static_cast<double>(opts.duration), static_cast<int>(opts.retval)};
    }

  private:
    testbed::NetNs ns_;
    runtime::InstancePaths pins_;
    std::optional<runtime::DatapathObject> object_;
    int ext0_ = 0;
    int program_ = -1;
};

double median(std::vector<double> v) {
    std::ranges::sort(v);
    return v[v.size() / 2];
}

void expect(const Run& r, int verdict, const char* what) {
    if (r.verdict != verdict)
        throw std::runtime_error(fmt::format("{}: verdict {} instead of {}", what, r.verdict, verdict));
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr-bench-nodeport-tc: kpr_from_netdev's nanoseconds per packet, new and established flows"};
    int rounds = 7;
    int flows = 2001;
    bool smoke = false;
    app.add_option("--rounds", rounds, "rounds; the median of the rounds' medians is reported")
        ->check(CLI::Range(1, 100));
    app.add_option("--flows", flows, "flows per round, each timed as a new and as an established flow")
        ->check(CLI::Range(1, 4000));
    app.add_flag("--smoke", smoke, "a few packets of each kind: checks the harness, not the cost");
    CLI11_PARSE(app, argc, argv);
    if (smoke) {
        rounds = 1;
        flows = 11;
    }
    if (const auto missing = testbed::missing_kernel_privileges()) {
        fmt::print(stderr, "kpr-bench-nodeport-tc: needs CAP_BPF/CAP_NET_ADMIN (run as root): {}\n", *missing);
        return 77;
    }
    try {
        testbed::sweep_debris();
        const NetdevBench bench;
        const char* client = "192.0.2.50";
        const auto other_port = tcp_frame(client, "192.0.2.1", 40000, 22, syn);
        std::vector<double> baseline, fresh, established;
        for (int round = 0; round < rounds; ++round) {
            // A new source port per flow; a round's flows fit the SNAT range (61000-65535).
            bench.clear_flows();
            std::uint16_t sport = 1024;
            std::vector<double> b, n, e;
            for (int i = 0; i < flows; ++i, ++sport) {
                Run r = bench.run(other_port);
                expect(r, TC_ACT_OK, "a packet to a port no Service uses");
                b.push_back(r.ns);
                r = bench.run(tcp_frame(client, "192.0.2.1", sport, node_port, syn));
                expect(r, TC_ACT_REDIRECT, "a new flow");
                n.push_back(r.ns);
                r = bench.run(tcp_frame(client, "192.0.2.1", sport, node_port, ack));
                expect(r, TC_ACT_REDIRECT, "an established flow");
                e.push_back(r.ns);
            }
            baseline.push_back(median(b));
            fresh.push_back(median(n));
            established.push_back(median(e));
        }
        const double base = median(baseline);
        fmt::print("kpr_from_netdev, BPF_PROG_TEST_RUN single-packet runs, median of {} rounds of {} flows:\n",
                   rounds, flows);
        fmt::print("  not a Service (baseline):  {:7.1f} ns/packet  1.000x\n", base);
        fmt::print("  NodePort, new flow:        {:7.1f} ns/packet  {:.3f}x\n", median(fresh), median(fresh) / base);
        fmt::print("  NodePort, established:     {:7.1f} ns/packet  {:.3f}x\n", median(established),
                   median(established) / base);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-bench-nodeport-tc: {}\n", e.what());
        return 1;
    }
    return 0;
}
