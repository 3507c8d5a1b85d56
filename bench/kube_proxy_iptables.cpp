// kube-proxy's iptables layout (pkg/proxy/iptables/proxier.go), rule by rule
// in the order a sync writes them.
#include "kube_proxy_iptables.hpp"

#include <fmt/format.h>

#include "chain_names.hpp"

namespace kpr::bench {
namespace {

std::string service_port_name(int i, const BenchPort& port) {
    return fmt::format("default/{}:{}", BenchCluster::name(i), port.name);
}

std::string svc_chain(int i, const BenchPort& port) {
    return "KUBE-SVC-" + chain_hash(service_port_name(i, port) + std::string(port.protocol), 16);
}

// kube-proxy names a port's external chain with the same hash as its service chain.
std::string ext_chain(int i, const BenchPort& port) {
    return "KUBE-EXT-" + chain_hash(service_port_name(i, port) + std::string(port.protocol), 16);
}

std::string sep_chain(const BenchCluster& c, int i, const BenchPort& port, int j) {
    return "KUBE-SEP-" +
           chain_hash(service_port_name(i, port) + std::string(port.protocol) + c.endpoint(i, j), 16);
}

// nat chains every sync writes, declarations and rules.
void nat_top_chains(std::string& out) {
    out += "*nat\n"
           ":KUBE-SERVICES - [0:0]\n"
           ":KUBE-NODEPORTS - [0:0]\n"
           ":KUBE-POSTROUTING - [0:0]\n"
           ":KUBE-MARK-MASQ - [0:0]\n";
}

void nat_top_rules(std::string& out) {
    out += "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
           "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n"
           "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j "
           "MASQUERADE --random-fully\n"
           "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n";
}

// The filter table kube-proxy writes on every sync (no Service here lacks
// endpoints, so its KUBE-SERVICES stays empty, as on a healthy cluster).
void filter_table(std::string& out) {
    out += "*filter\n"
           ":KUBE-NODEPORTS - [0:0]\n"
           ":KUBE-SERVICES - [0:0]\n"
           ":KUBE-EXTERNAL-SERVICES - [0:0]\n"
           ":KUBE-FORWARD - [0:0]\n"
           ":KUBE-PROXY-FIREWALL - [0:0]\n"
           "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n"
           "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark "
           "0x4000/0x4000 -j ACCEPT\n"
           "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack "
           "--ctstate RELATED,ESTABLISHED -j ACCEPT\n";
}

// The jumps kube-proxy adds to the built-in chains (with iptables -I, once).
void filter_jumps(std::string& out) {
    for (const char* chain : {"INPUT", "FORWARD", "OUTPUT"})
        out += fmt::format("-A {} -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer "
                           "firewall\" -j KUBE-PROXY-FIREWALL\n",
                           chain);
    out += "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n"
           "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service "
           "portals\" -j KUBE-EXTERNAL-SERVICES\n"
           "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
           "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j "
           "KUBE-SERVICES\n"
           "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
           "service portals\" -j KUBE-EXTERNAL-SERVICES\n"
           "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j "
           "KUBE-SERVICES\n";
}

void nat_jumps(std::string& out) {
    out += "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
           "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
           "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n";
}

void services_entry(std::string& out, int i, const BenchPort& port) {
    out += fmt::format("-A KUBE-SERVICES -m comment --comment \"{} cluster IP\" -m {} -p {} -d {}/32 --dport {} "
                       "-j {}\n",
                       service_port_name(i, port), port.protocol, port.protocol, BenchCluster::vip(i), port.port,
                       svc_chain(i, port));
}

void nodeports_entry(std::string& out) {
    out += "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last "
           "rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n";
}

// A NodePort: KUBE-NODEPORTS matches its port (on any local address, the
// KUBE-SERVICES jump having checked the address type) and jumps to the
// external chain, which marks the connection for masquerading
// (externalTrafficPolicy Cluster) and continues to the service chain.
void node_port_entry(std::string& out, const BenchCluster& c, int i, const BenchPort& port) {
    out += fmt::format("-A KUBE-NODEPORTS -m comment --comment {} -m {} -p {} --dport {} -j {}\n",
                       service_port_name(i, port), port.protocol, port.protocol, c.node_port(i, port),
                       ext_chain(i, port));
}

void ext_chain_rules(std::string& out, int i, const BenchPort& port) {
    const auto chain = ext_chain(i, port);
    out += fmt::format("-A {} -m comment --comment \"masquerade traffic for {} external destinations\" -j "
                       "KUBE-MARK-MASQ\n",
                       chain, service_port_name(i, port));
    out += fmt::format("-A {} -j {}\n", chain, svc_chain(i, port));
}

void svc_chain_rules(std::string& out, const BenchCluster& c, int i, const BenchPort& port) {
    const auto name = service_port_name(i, port);
    const auto chain = svc_chain(i, port);
    out += fmt::format("-A {} -m comment --comment \"{} cluster IP\" -m {} -p {} -d {}/32 --dport {} ! -s {} -j "
                       "KUBE-MARK-MASQ\n",
                       chain, name, port.protocol, port.protocol, BenchCluster::vip(i), port.port, cluster_cidr);
    for (int j = 0; j < endpoints_per_service; ++j) {
        const int left = endpoints_per_service - j;
        const auto statistic =
            left > 1 ? fmt::format("-m statistic --mode random --probability {:.10f} ", 1.0 / left) : "";
        out += fmt::format("-A {} -m comment --comment \"{} -> {}:{}\" {}-j {}\n", chain, name, c.endpoint(i, j),
                           backend_port, statistic, sep_chain(c, i, port, j));
    }
}

void sep_chain_rules(std::string& out, const BenchCluster& c, int i, const BenchPort& port, int j) {
    const auto name = service_port_name(i, port);
    const auto chain = sep_chain(c, i, port, j);
    out += fmt::format("-A {} -m comment --comment {} -s {}/32 -j KUBE-MARK-MASQ\n", chain, name, c.endpoint(i, j));
    out += fmt::format("-A {} -m comment --comment {} -m {} -p {} -j DNAT --to-destination {}:{}\n", chain, name,
                       port.protocol, port.protocol, c.endpoint(i, j), backend_port);
}

} // namespace

std::string iptables_full_restore(const BenchCluster& c) {
    std::string out;
    filter_table(out);
    filter_jumps(out);
    out += "COMMIT\n";

    nat_top_chains(out);
    for (int i = 0; i < c.services; ++i)
        for (const auto& port : c.ports(i)) {
            out += fmt::format(":{} - [0:0]\n", svc_chain(i, port));
            if (c.node_port(i, port) != 0)
                out += fmt::format(":{} - [0:0]\n", ext_chain(i, port));
            for (int j = 0; j < endpoints_per_service; ++j)
                out += fmt::format(":{} - [0:0]\n", sep_chain(c, i, port, j));
        }
    nat_jumps(out);
    nat_top_rules(out);
    for (int i = 0; i < c.services; ++i)
        for (const auto& port : c.ports(i)) {
            services_entry(out, i, port);
            if (c.node_port(i, port) != 0) {
                node_port_entry(out, c, i, port);
                ext_chain_rules(out, i, port);
            }
            svc_chain_rules(out, c, i, port);
            for (int j = 0; j < endpoints_per_service; ++j)
                sep_chain_rules(out, c, i, port, j);
        }
    nodeports_entry(out);
    out += "COMMIT\n";
    return out;
}

std::string iptables_partial_restore(const BenchCluster& before, const BenchCluster& after) {
    std::string out;
    filter_table(out);
    out += "COMMIT\n";

    const int last = after.last();
    nat_top_chains(out);
    for (const auto& port : after.ports(last)) {
        out += fmt::format(":{} - [0:0]\n", svc_chain(last, port));
        if (after.node_port(last, port) != 0)
            out += fmt::format(":{} - [0:0]\n", ext_chain(last, port));
        out += fmt::format(":{} - [0:0]\n", sep_chain(after, last, port, 0));
    }
    // Declaring a stale chain flushes it, so that -X (empty chains only) can delete it.
    for (const auto& port : before.ports(last))
        out += fmt::format(":{} - [0:0]\n", sep_chain(before, last, port, 0));
    nat_top_rules(out);
    // The top-level chains are rewritten in full: KUBE-SERVICES and KUBE-NODEPORTS.
    for (int i = 0; i < after.services; ++i)
        for (const auto& port : after.ports(i)) {
            services_entry(out, i, port);
            if (after.node_port(i, port) != 0)
                node_port_entry(out, after, i, port);
        }
    nodeports_entry(out);
    for (const auto& port : after.ports(last)) {
        if (after.node_port(last, port) != 0)
            ext_chain_rules(out, last, port);
        svc_chain_rules(out, after, last, port);
        sep_chain_rules(out, after, last, port, 0);
    }
    for (const auto& port : before.ports(last))
        out += fmt::format("-X {}\n", sep_chain(before, last, port, 0));
    out += "COMMIT\n";
    return out;
}

std::string iptables_flush_restore() {
    return "*filter\nCOMMIT\n*nat\nCOMMIT\n";
}

} // namespace kpr::bench
