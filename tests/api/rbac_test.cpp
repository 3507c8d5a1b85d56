// The deploy/ manifests against the agent: the ClusterRole grants get, list
// and watch on exactly the resources the agent requests (no more, no less),
// the binding ties it to the ServiceAccount the DaemonSet runs as, and the
// DaemonSet's probes ask the health address the agent is given.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "kpr/k8s/api/api_source.hpp"

namespace kpr::k8s::api {
namespace {

std::vector<YAML::Node> documents(const std::string& file) {
    return YAML::LoadAllFromFile(std::string(KPR_DEPLOY_DIR) + "/" + file);
}

YAML::Node find(const std::vector<YAML::Node>& docs, const std::string& kind) {
    for (const auto& d : docs)
        if (d["kind"].as<std::string>() == kind)
            return d;
    ADD_FAILURE() << "no " << kind;
    return {};
}

TEST(Rbac, GrantsGetListWatchOnExactlyTheResourcesTheAgentRequests) {
    const auto role = find(documents("rbac.yaml"), "ClusterRole");
    std::map<std::pair<std::string, std::string>, std::set<std::string>> granted;
    for (const auto& rule : role["rules"]) {
        EXPECT_FALSE(rule["resourceNames"]) << "the agent lists whole collections";
        EXPECT_FALSE(rule["nonResourceURLs"]);
        for (const auto& group : rule["apiGroups"])
            for (const auto& resource : rule["resources"])
                for (const auto& verb : rule["verbs"])
                    granted[{group.as<std::string>(), resource.as<std::string>()}].insert(verb.as<std::string>());
    }
    std::map<std::pair<std::string, std::string>, std::set<std::string>> requested;
    for (const Resource& r : agent_resources)
        requested[{std::string(r.group), std::string(r.plural)}] = {"get", "list", "watch"};
    EXPECT_EQ(granted, requested);
}

TEST(Rbac, TheBindingTiesTheRoleToTheDaemonSetsServiceAccount) {
    const auto rbac = documents("rbac.yaml");
    const auto account = find(rbac, "ServiceAccount");
    const auto binding = find(rbac, "ClusterRoleBinding");
    const auto daemonset = find(documents("daemonset.yaml"), "DaemonSet");
    EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(), find(rbac, "ClusterRole")["metadata"]["name"].as<std::string>());
    ASSERT_EQ(binding["subjects"].size(), 1u);
    EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(), account["metadata"]["name"].as<std::string>());
    EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(), account["metadata"]["namespace"].as<std::string>());
    const auto pod = daemonset["spec"]["template"]["spec"];
    EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), account["metadata"]["name"].as<std::string>());
    EXPECT_EQ(daemonset["metadata"]["namespace"].as<std::string>(), account["metadata"]["namespace"].as<std::string>());
}

TEST(DaemonSet, RunsUnprivilegedWithItsCapabilitiesAndProbesTheHealthAddress) {
    const auto pod = find(documents("daemonset.yaml"), "DaemonSet")["spec"]["template"]["spec"];
    EXPECT_TRUE(pod["hostNetwork"].as<bool>());
    const auto container = pod["containers"][0];
    const auto security = container["securityContext"];
    EXPECT_FALSE(security["privileged"].as<bool>());
    std::set<std::string> added;
    for (const auto& c : security["capabilities"]["add"])
        added.insert(c.as<std::string>());
    EXPECT_EQ(added, (std::set<std::string>{"BPF", "NET_ADMIN", "SYS_ADMIN"}));
    std::string health;
    bool in_cluster = false;
    for (const auto& arg : container["command"]) {
        const auto a = arg.as<std::string>();
        if (a.starts_with("--health-address="))
            health = a.substr(a.find('=') + 1);
        in_cluster = in_cluster || a == "--in-cluster";
    }
    EXPECT_TRUE(in_cluster);
    for (const char* probe : {"livenessProbe", "readinessProbe"}) {
        const auto get = container[probe]["httpGet"];
        EXPECT_EQ(fmt::format("{}:{}", get["host"].as<std::string>(), get["port"].as<int>()), health) << probe;
    }
    EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
    EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
    std::set<std::string> mounts;
    for (const auto& m : container["volumeMounts"])
        mounts.insert(m["mountPath"].as<std::string>());
    EXPECT_EQ(mounts, (std::set<std::string>{"/sys/fs/bpf", "/sys/fs/cgroup"}));
}

} // namespace
} // namespace kpr::k8s::api
