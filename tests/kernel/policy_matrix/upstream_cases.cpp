// The upstream cases on the model cluster.
#include "policy_matrix/upstream_cases.hpp"

#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "netpol_cases.hpp"

namespace kpr::testbed::netpol {
namespace {

using Relabel = std::function<void(ModelCluster&)>;

// The cases that change labels, as upstream does, before probing.
const std::map<std::string, Relabel>& relabels() {
    static const std::map<std::string, Relabel> by_case = {
        {"IngressFromUpdatedNamespace",
         [](ModelCluster& c) { c.set_namespace_label("y", "ns2", "updated"); }},
        {"IngressFromUpdatedPodAndToUpdatedPod",
         [](ModelCluster& c) {
             c.set_pod_label("x/b", "pod2", "updated");
             c.set_pod_label("x/c", "pod", "a");
         }},
    };
    return by_case;
}

std::vector<MatrixCase> make_cases() {
    std::vector<MatrixCase> cases;
    for (const std::string& name : policy::testing::netpol_case_names()) {
        const auto relabel = relabels().find(name);
        cases.push_back({name, relabel != relabels().end() ? relabel->second : Relabel([](ModelCluster&) {})});
    }
    for (const auto& [name, relabel] : relabels())
        if (std::ranges::none_of(cases, [&](const MatrixCase& c) { return c.name == name; }))
            throw std::logic_error(fmt::format("relabel for {}: no such case in {}", name,
                                               policy::testing::netpol_cases_dir.string()));
    return cases;
}

} // namespace

std::string MatrixCase::policies(const ModelCluster& cluster) const {
    const policy::testing::CaseAddresses addresses{
        [&](std::string_view pod, bool ipv6) {
            return ipv6 ? cluster.pod(pod).pod->ipv6 : cluster.pod(pod).pod->ipv4;
        },
        std::string(ModelCluster::pods_v4), std::string(ModelCluster::pods_v6)};
    return policy::testing::netpol_case(name, addresses);
}

const std::vector<MatrixCase>& upstream_cases() {
    static const std::vector<MatrixCase> cases = make_cases();
    return cases;
}

void PrintTo(const MatrixCase& c, std::ostream* out) {
    *out << c.name;
}

} // namespace kpr::testbed::netpol
