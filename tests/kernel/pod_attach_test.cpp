// Finding a pod's host-side veth by its host route and attaching programs
// to its clsact hooks, in a test bed node: the route lookup over netlink,
// attach, in-place replace, detach, and a filter at kpr's handle that is
// not the instance's left alone. The programs are trivial (pass every
// packet); they use a map pinned under the test instance, which is what
// makes them the instance's.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <array>
#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

#include "kpr/runtime/host_routes.hpp"
#include "kpr/runtime/tc_attachment.hpp"
#include "testbed/debris.hpp"
#include "testbed/inside_netns.hpp"
#include "testbed/privileges.hpp"
#include "testbed/topology.hpp"

namespace kpr::runtime {
namespace {

namespace fs = std::filesystem;

// A SCHED_CLS program that touches map_fd (so the kernel lists it among the
// program's maps) and passes the packet.
UniqueFd pass_program(int map_fd) {
    const std::array<bpf_insn, 4> insns{{
        {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd},
        {0, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, TC_ACT_OK},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    }};
    UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "kprt_pass", "GPL", insns.data(), insns.size(), nullptr));
    if (!fd)
        throw Error(fmt::format("loading the test program: {}", errno_text(errno)));
    return fd;
}

UniqueFd array_map(const char* name) {
    UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, 4, 1, nullptr));
    if (!fd)
        throw Error(fmt::format("creating a test map: {}", errno_text(errno)));
    return fd;
}

class PodAttach : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        testbed::sweep_debris();
        topology_.emplace("attach");
        a_ = &topology_->add_pod("a");
        b_ = &topology_->add_pod("b");
        pins_.emplace(testbed::test_object_name("attach"), default_bpffs);
        fs::create_directories(pins_->maps());
        instance_map_ = array_map("kprt_marker");
        ASSERT_EQ(bpf_obj_pin(instance_map_.get(), pins_->map("kprt_marker").c_str()), 0) << errno_text(errno);
        foreign_map_ = array_map("kprt_foreign");
    }

    void TearDown() override {
        if (pins_)
            fs::remove_all(pins_->root());
    }

    int ifindex(const testbed::Pod& pod) const {
        const auto found = HostRoutes::read().interface_for(*net::Address::parse(pod.ipv4));
        if (!found)
            throw Error("no host route to " + pod.ipv4);
        return found->ifindex;
    }

    std::optional<testbed::Topology> topology_;
    const testbed::Pod* a_ = nullptr;
    const testbed::Pod* b_ = nullptr;
    std::optional<InstancePaths> pins_;
    UniqueFd instance_map_;
    UniqueFd foreign_map_;
};

TEST_F(PodAttach, TheHostRouteToAPodLeadsToItsVeth) {
    const testbed::InsideNetns inside(topology_->node());
    const auto routes = HostRoutes::read();
    for (const auto* pod : {a_, b_})
        for (const auto& address : {pod->ipv4, pod->ipv6}) {
            const auto found = routes.interface_for(*net::Address::parse(address));
            ASSERT_TRUE(found) << address;
            EXPECT_EQ(found->name, pod->node_interface) << address;
            EXPECT_TRUE(found->veth) << address;
        }
    // No host route: the gateway address is on lo, and nothing routes 10.244.0.99.
    EXPECT_FALSE(routes.interface_for(*net::Address::parse("10.244.0.99")));
    const auto lo = routes.interface(1);
    ASSERT_TRUE(lo);
    EXPECT_FALSE(lo->veth);
}

TEST_F(PodAttach, AttachesReplacesInPlaceAndDetaches) {
    const testbed::InsideNetns inside(topology_->node());
    const int a = ifindex(*a_);
    const int b = ifindex(*b_);
    const TcAttacher attacher(*pins_);
    const auto from1 = pass_program(instance_map_.get());
    const auto to1 = pass_program(instance_map_.get());

    EXPECT_EQ(attacher.attach(a, {from1.get(), to1.get()}), AttachOutcome::attached);
    EXPECT_EQ(attacher.filter(a, BPF_TC_INGRESS), detail::program_id(from1.get()));
    EXPECT_EQ(attacher.filter(a, BPF_TC_EGRESS), detail::program_id(to1.get()));
    EXPECT_EQ(attacher.attach(a, {from1.get(), to1.get()}), AttachOutcome::unchanged);

    // A new build of the programs takes the same filters' places.
    const auto from2 = pass_program(instance_map_.get());
    const auto to2 = pass_program(instance_map_.get());
    EXPECT_EQ(attacher.attach(a, {from2.get(), to2.get()}), AttachOutcome::replaced);
    EXPECT_EQ(attacher.filter(a, BPF_TC_INGRESS), detail::program_id(from2.get()));
    EXPECT_EQ(attacher.filter(a, BPF_TC_EGRESS), detail::program_id(to2.get()));
    EXPECT_EQ(attacher.attached_among(std::array{a, b}), (std::set<int>{a}));

    EXPECT_TRUE(attacher.detach(a));
    EXPECT_FALSE(attacher.filter(a, BPF_TC_INGRESS));
    EXPECT_FALSE(attacher.filter(a, BPF_TC_EGRESS));
    EXPECT_FALSE(attacher.detach(a));
}

TEST_F(PodAttach, AFilterAtKprsPlaceThatIsNotTheInstancesIsLeftAlone) {
    const testbed::InsideNetns inside(topology_->node());
    const int b = ifindex(*b_);
    const auto foreign = pass_program(foreign_map_.get());
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = b, .attach_point = BPF_TC_INGRESS);
    ASSERT_EQ(bpf_tc_hook_create(&hook), 0);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = foreign.get(), .handle = tc_filter_handle,
                .priority = tc_filter_priority);
    ASSERT_EQ(bpf_tc_attach(&hook, &opts), 0);

    const TcAttacher attacher(*pins_);
    const auto from = pass_program(instance_map_.get());
    const auto to = pass_program(instance_map_.get());
    try {
        attacher.attach(b, {from.get(), to.get()});
        ADD_FAILURE() << "attached over another instance's filter";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not this instance's"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(attacher.detach(b));
    EXPECT_EQ(attacher.filter(b, BPF_TC_INGRESS), detail::program_id(foreign.get()));
    EXPECT_TRUE(attacher.attached_among(std::array{b}).empty());
}

} // namespace
} // namespace kpr::runtime
