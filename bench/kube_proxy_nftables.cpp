// kube-proxy's nftables layout (pkg/proxy/nftables/proxier.go), in the order
// its sync adds objects to a transaction.
#include "kube_proxy_nftables.hpp"

#include <fmt/format.h>

#include "chain_names.hpp"

namespace kpr::bench {
namespace {

constexpr std::string_view table = "ip kube-proxy";

// "default/svc-00001/tcp/http", as kube-proxy suffixes its chain names.
std::string service_port_path(int i, const BenchPort& port) {
    return fmt::format("default/{}/{}/{}", BenchCluster::name(i), port.protocol, port.name);
}

std::string service_chain(int i, const BenchPort& port) {
    const auto path = service_port_path(i, port);
    return fmt::format("service-{}-{}", chain_hash(path, 8), path);
}

std::string external_chain(int i, const BenchPort& port) {
    const auto path = service_port_path(i, port);
    return fmt::format("external-{}-{}", chain_hash(path, 8), path);
}

std::string endpoint_chain(const BenchCluster& c, int i, const BenchPort& port, int j) {
    const auto path = fmt::format("{}__{}/{}", service_port_path(i, port), c.endpoint(i, j), backend_port);
    return fmt::format("endpoint-{}-{}", chain_hash(path, 8), path);
}

void base_objects(std::string& out) {
    out += fmt::format("add table {} {{ comment \"rules for kube-proxy\" ; }}\n", table);
    out += fmt::format("flush table {}\n", table);
    const auto rule = [&](std::string_view chain, std::string_view text) {
        out += fmt::format("add rule {} {} {}\n", table, chain, text);
    };
    const auto chain = [&](std::string_view name, std::string_view hook = {}) {
        out += hook.empty() ? fmt::format("add chain {} {}\n", table, name)
                            : fmt::format("add chain {} {} {{ {} ; }}\n", table, name, hook);
    };
    chain("mark-for-masquerade");
    rule("mark-for-masquerade", "mark set mark or 0x4000");
    chain("masquerading");
    rule("masquerading", "mark and 0x4000 == 0 return");
    rule("masquerading", "mark set mark xor 0x4000");
    rule("masquerading", "masquerade fully-random");

    out += fmt::format("add set {} cluster-ips {{ type ipv4_addr ; comment \"Active ClusterIPs\" ; }}\n", table);
    // NodePorts answer on the node's primary address only (kube-proxy
    // nftables' default nodePortAddresses), not on every local address.
    out += fmt::format("add set {} nodeport-ips {{ type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }}\n",
                       table);
    out += fmt::format("add element {} nodeport-ips {{ {} }}\n", table, node_address);
    for (const char* map : {"service-ips", "no-endpoint-services", "firewall-ips"})
        out += fmt::format("add map {} {} {{ type ipv4_addr . inet_proto . inet_service : verdict ; }}\n", table,
                           map);
    out += fmt::format("add map {} service-nodeports {{ type inet_proto . inet_service : verdict ; }}\n", table);

    chain("services");
    rule("services", "ip daddr . meta l4proto . th dport vmap @service-ips");
    rule("services", "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports");
    chain("service-endpoints-check");
    rule("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services");
    chain("firewall-check");
    rule("firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips");
    chain("cluster-ips-check");
    rule("cluster-ips-check", "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"");
    rule("cluster-ips-check", "ip daddr 10.96.0.0/12 drop comment \"Drop traffic to unallocated ClusterIPs\"");

    chain("filter-prerouting", "type filter hook prerouting priority -110");
    rule("filter-prerouting", "ct state new jump firewall-check");
    chain("filter-forward", "type filter hook forward priority -110");
    rule("filter-forward", "ct state new jump service-endpoints-check");
    rule("filter-forward", "ct state new jump cluster-ips-check");
    chain("filter-output", "type filter hook output priority -110");
    rule("filter-output", "ct state new jump service-endpoints-check");
    rule("filter-output", "ct state new jump firewall-check");
    chain("nat-prerouting", "type nat hook prerouting priority -100");
    rule("nat-prerouting", "jump services");
    chain("nat-output", "type nat hook output priority -100");
    rule("nat-output", "jump services");
    chain("nat-postrouting", "type nat hook postrouting priority 100");
    rule("nat-postrouting", "jump masquerading");
}

void endpoint_chain_objects(std::string& out, const BenchCluster& c, int i, const BenchPort& port, int j) {
    const auto chain = endpoint_chain(c, i, port, j);
    out += fmt::format("add chain {} {}\n", table, chain);
    out += fmt::format("flush chain {} {}\n", table, chain);
    out += fmt::format("add rule {} {} ip saddr {} jump mark-for-masquerade\n", table, chain, c.endpoint(i, j));
    out += fmt::format("add rule {} {} meta l4proto {} dnat to {}:{}\n", table, chain, port.protocol,
                       c.endpoint(i, j), backend_port);
}

// A NodePort with externalTrafficPolicy Cluster: its external chain marks
// the connection for masquerading and continues to the service chain.
void external_chain_objects(std::string& out, const BenchCluster& c, int i, const BenchPort& port) {
    const auto chain = external_chain(i, port);
    out += fmt::format("add chain {} {}\n", table, chain);
    out += fmt::format("add rule {} {} jump mark-for-masquerade\n", table, chain);
    out += fmt::format("add rule {} {} goto {}\n", table, chain, service_chain(i, port));
    out += fmt::format("add element {} service-nodeports {{ {} . {} : goto {} }}\n", table, port.protocol,
                       c.node_port(i, port), chain);
}

void service_chain_rules(std::string& out, const BenchCluster& c, int i, const BenchPort& port) {
    const auto chain = service_chain(i, port);
    out += fmt::format("add rule {} {} ip daddr {} {} dport {} ip saddr != {} jump mark-for-masquerade\n", table,
                       chain, BenchCluster::vip(i), port.protocol, port.port, cluster_cidr);
    std::string choices;
    for (int j = 0; j < endpoints_per_service; ++j)
        choices += fmt::format("{}{} : goto {}", j ? " , " : "", j, endpoint_chain(c, i, port, j));
    out += fmt::format("add rule {} {} numgen random mod {} vmap {{ {} }}\n", table, chain, endpoints_per_service,
                       choices);
}

} // namespace

std::string nftables_full_ruleset(const BenchCluster& c) {
    std::string out;
    base_objects(out);
    for (int i = 0; i < c.services; ++i)
        for (const auto& port : c.ports(i)) {
            for (int j = 0; j < endpoints_per_service; ++j)
                endpoint_chain_objects(out, c, i, port, j);
            const auto chain = service_chain(i, port);
            out += fmt::format("add chain {} {}\n", table, chain);
            service_chain_rules(out, c, i, port);
            out += fmt::format("add element {} cluster-ips {{ {} }}\n", table, BenchCluster::vip(i));
            out += fmt::format("add element {} service-ips {{ {} . {} . {} : goto {} }}\n", table,
                               BenchCluster::vip(i), port.protocol, port.port, chain);
            if (c.node_port(i, port) != 0)
                external_chain_objects(out, c, i, port);
        }
    return out;
}

std::string nftables_endpoint_change(const BenchCluster& before, const BenchCluster& after) {
    std::string out;
    const int last = after.last();
    for (const auto& port : after.ports(last)) {
        endpoint_chain_objects(out, after, last, port, 0);
        out += fmt::format("flush chain {} {}\n", table, service_chain(last, port));
        service_chain_rules(out, after, last, port);
    }
    for (const auto& port : before.ports(last))
        out += fmt::format("delete chain {} {}\n", table, endpoint_chain(before, last, port, 0));
    return out;
}

std::string nftables_delete_table() {
    return fmt::format("add table {}\ndelete table {}\n", table, table);
}

} // namespace kpr::bench
