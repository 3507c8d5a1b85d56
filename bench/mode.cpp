// The part every mode shares, and the floor: connecting straight to a
// backend, with nothing to program.
#include "mode.hpp"

namespace kpr::bench {

Mode::Mode(std::string name, std::string tag, ModeSettings settings)
    : name_(std::move(name)), settings_(std::move(settings)), node_(tag), client_cgroup_(tag + "-client") {}

std::vector<Target> Mode::targets(const BenchCluster& c, TargetSet set) const {
    switch (set) {
    case TargetSet::last_tcp:
        return {{BenchCluster::vip(c.last()), service_port}};
    case TargetSet::last_udp:
        return {{BenchCluster::vip(c.last()), udp_service_port}};
    case TargetSet::last_node_port:
        return {{std::string(node_address), c.node_port(c.last(), c.ports(c.last()).front())}};
    case TargetSet::random_tcp:
    case TargetSet::random_node_port:
        break;
    }
    std::vector<Target> all;
    for (int i = 0; i < c.services; ++i)
        all.push_back(set == TargetSet::random_tcp
                          ? Target{BenchCluster::vip(i), service_port}
                          : Target{std::string(node_address), c.node_port(i, c.ports(i).front())});
    return all;
}

namespace {

class DirectMode final : public Mode {
  public:
    explicit DirectMode(ModeSettings settings) : Mode("direct", "bdirect", std::move(settings)) {}

    Timing program(const BenchCluster&) override { return {}; }
    std::map<std::string, Timing> change_endpoint(const BenchCluster&, const BenchCluster&, bool) override {
        return {};
    }
    std::optional<std::uint64_t> memory_bytes() const override { return 0; }

    // A random endpoint of the same Services the other modes reach by VIP.
    std::vector<Target> targets(const BenchCluster& c, TargetSet set) const override {
        const bool random = set == TargetSet::random_tcp || set == TargetSet::random_node_port;
        const int first = random ? 0 : c.last();
        std::vector<Target> endpoints;
        for (int i = first; i < c.services; ++i)
            for (int j = 0; j < endpoints_per_service; ++j)
                endpoints.push_back({c.endpoint(i, j), backend_port});
        return endpoints;
    }
};

} // namespace

std::unique_ptr<Mode> make_direct_mode(ModeSettings settings) {
    return std::make_unique<DirectMode>(std::move(settings));
}

} // namespace kpr::bench
