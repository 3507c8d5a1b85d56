// The upstream Kubernetes network-policy e2e cases (test/e2e/network/netpol)
// as data: one file of NetworkPolicies per case under tests/data/netpol/,
// shared by the compiler's unit tests (policy_e2e_cases_test.cpp) and the
// kernel policy matrix, which run them on model clusters with different
// addresses. An ipBlock names addresses by placeholder, filled in for the
// cluster at hand: ${<ns>/<pod>/32} and ${<ns>/<pod>/128} (a model pod's
// IPv4 or IPv6 address as a host block), ${pods/v4} and ${pods/v6} (a block
// holding every pod address of that family).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace kpr::policy::testing {

inline const std::filesystem::path netpol_cases_dir = KPR_NETPOL_CASES_DIR;

// What the placeholders stand for on one model cluster.
struct CaseAddresses {
    // The address of the pod "<ns>/<pod>" in one family, without a prefix length.
    std::function<std::string(std::string_view pod, bool ipv6)> pod;
    std::string pods_v4; // e.g. "10.244.0.0/24"
    std::string pods_v6;
};

// Every case's name (its file's stem), sorted.
inline std::vector<std::string> netpol_case_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(netpol_cases_dir))
        if (entry.path().extension() == ".yaml")
            names.push_back(entry.path().stem().string());
    std::ranges::sort(names);
    return names;
}

// The case's NetworkPolicy documents with every placeholder filled in.
// Throws std::runtime_error for a missing case or an unknown placeholder.
inline std::string netpol_case(std::string_view name, const CaseAddresses& addresses) {
    const auto path = netpol_cases_dir / fmt::format("{}.yaml", name);
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(fmt::format("no netpol case {}", path.string()));
    std::stringstream text;
    text << in.rdbuf();
    const std::string yaml = text.str();
    std::string out;
    std::size_t at = 0;
    for (std::size_t open; (open = yaml.find("${", at)) != std::string::npos;) {
        const std::size_t close = yaml.find('}', open);
        if (close == std::string::npos)
            throw std::runtime_error(fmt::format("{}: unterminated ${{", path.string()));
        const std::string_view key = std::string_view(yaml).substr(open + 2, close - open - 2);
        out.append(yaml, at, open - at);
        if (key == "pods/v4")
            out += addresses.pods_v4;
        else if (key == "pods/v6")
            out += addresses.pods_v6;
        else if (key.ends_with("/32"))
            out += addresses.pod(key.substr(0, key.size() - 3), false) + "/32";
        else if (key.ends_with("/128"))
            out += addresses.pod(key.substr(0, key.size() - 4), true) + "/128";
        else
            throw std::runtime_error(
                fmt::format("{}: unknown placeholder ${{{}}}", path.string(), key));
        at = close + 1;
    }
    return out + yaml.substr(at);
}

} // namespace kpr::policy::testing
