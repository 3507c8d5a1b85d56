// kpr as a NodePort benchmark mode. The TC object is loaded into a bpffs
// instance of the run's own and kpr_from_netdev goes on the clsact ingress
// of the node's veth to the client (the external interface) and of the
// backend pods' veths: the benchmark's endpoints are not pods the node
// knows (they stand for backends anywhere in the cluster), so their
// replies come back through kpr_from_netdev's reverse NAT, as a remote
// node's backends' replies do. The frontends, backends and node address
// are written into the maps directly (the agent's NodePort sync is
// issue7sync's; programming time is the map writes only).
#include "kpr_nodeport_mode.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/map.hpp"
#include "testbed/debris.hpp"
#include "testbed/inside_netns.hpp"

namespace kpr::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::uint8_t tcp = 6;

layout::be32 word(const std::string& text) {
    in_addr a{};
    if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
        throw std::runtime_error("bad IPv4 address " + text);
    return layout::be32::from_network(a.s_addr);
}

class KprNodePortMode final : public Mode {
  public:
    KprNodePortMode(ModeSettings settings, const fs::path& tc_object)
        : Mode("kpr", "bkprnp", std::move(settings)),
          pins_(testbed::test_object_name("bkprnp"), runtime::default_bpffs) {
        object_.emplace(runtime::DatapathObject::load(tc_object, pins_));
        int program = -1;
        for (auto* prog : object_->programs())
            if (std::string_view(bpf_program__name(prog)) == "kpr_from_netdev")
                program = bpf_program__fd(prog);
        if (program < 0)
            throw std::runtime_error(tc_object.string() + " has no kpr_from_netdev");
        services_.emplace(layout::services4, object_->map_fd("kpr_svc4"));
        backends_.emplace(layout::backends4, object_->map_fd("kpr_backend4"));
        runtime::Map<layout::NodeAddressKey, layout::NodeAddress>(layout::node_addresses,
                                                                  object_->map_fd("kpr_nodeaddr"))
            .update({layout::node_address_ipv4}, {{word(std::string(node_address))}});
        // Every address is the world's: no backend is a pod of this node.
        runtime::Map<layout::IpcacheKey4, layout::IpcacheValue>(layout::ipcache4, object_->map_fd("kpr_ipcache4"))
            .update({0, word("0.0.0.0")}, {2, 2, 0});
        testbed::InsideNetns inside(node().node());
        for (const auto& pod : node().pods())
            attach_ingress(pod.node_interface, program);
    }

    ~KprNodePortMode() override {
        object_.reset();
        std::error_code ignored;
        fs::remove_all(pins_.root(), ignored);
    }

    Timing program(const BenchCluster& cluster) override {
        clear();
        std::vector<layout::ServiceKey4> service_keys;
        std::vector<layout::ServiceValue> service_values;
        std::vector<layout::BackendKey> backend_keys;
        std::vector<layout::Backend4> backend_values;
        const auto address = word(std::string(node_address));
        for (int i = 0; i < cluster.services; ++i) {
            const auto port = layout::be16::from_host(cluster.node_port(i, cluster.ports(i).front()));
            const auto rev_nat_id = static_cast<std::uint16_t>(i + 1);
            for (int j = 0; j < endpoints_per_service; ++j) {
                const auto id = static_cast<std::uint32_t>(i * endpoints_per_service + j + 1);
                backend_keys.push_back({id});
                backend_values.push_back({word(cluster.endpoint(i, j)), layout::be16::from_host(backend_port), tcp, 0});
                service_keys.push_back({address, port, tcp, 0, static_cast<std::uint16_t>(j + 1), 0});
                service_values.push_back({id, 0, rev_nat_id, 0, 0, 0});
            }
            // Slot 0 last: the frontend appears whole.
            service_keys.push_back({address, port, tcp, 0, 0, 0});
            service_values.push_back({0, endpoints_per_service, rev_nat_id, layout::service_flag_external, 0, 0});
        }
        const auto start = Clock::now();
        backends_->update_batch(backend_keys, backend_values);
        services_->update_batch(service_keys, service_values);
        return {std::chrono::duration<double>(Clock::now() - start).count(), false, {}};
    }

    std::map<std::string, Timing> change_endpoint(const BenchCluster&, const BenchCluster&, bool) override {
        return {};
    }
    std::optional<std::uint64_t> memory_bytes() const override { return std::nullopt; }

  private:
    static void attach_ingress(const std::string& interface, int program) {
        const int ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
        if (ifindex == 0)
            throw std::runtime_error("no interface " + interface + " in the kpr node");
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
        if (const int err = bpf_tc_hook_create(&hook); err != 0 && err != -EEXIST)
            throw std::runtime_error(fmt::format("{}: clsact: {}", interface, std::strerror(-err)));
        LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = program);
        if (const int err = bpf_tc_attach(&hook, &opts); err != 0)
            throw std::runtime_error(fmt::format("{}: attaching kpr_from_netdev: {}", interface, std::strerror(-err)));
    }

    // What an earlier size wrote, and the flows it left (untimed).
    void clear() {
        std::vector<layout::ServiceKey4> service_keys;
        services_->for_each([&](const layout::ServiceKey4& k, const layout::ServiceValue&) { service_keys.push_back(k); });
        services_->erase_batch(service_keys);
        std::vector<layout::BackendKey> backend_keys;
        backends_->for_each([&](const layout::BackendKey& k, const layout::Backend4&) { backend_keys.push_back(k); });
        backends_->erase_batch(backend_keys);
    }

    runtime::InstancePaths pins_;
    std::optional<runtime::DatapathObject> object_;
    std::optional<runtime::Map<layout::ServiceKey4, layout::ServiceValue>> services_;
    std::optional<runtime::Map<layout::BackendKey, layout::Backend4>> backends_;
};

} // namespace

std::unique_ptr<Mode> make_kpr_nodeport_mode(ModeSettings settings, const fs::path& tc_object) {
    return std::make_unique<KprNodePortMode>(std::move(settings), tc_object);
}

} // namespace kpr::bench
