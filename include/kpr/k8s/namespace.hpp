// The typed v1/Namespace: a cluster-scoped object whose labels
// NetworkPolicy's namespaceSelector matches.
#pragma once

#include <string>
#include <string_view>

#include "kpr/k8s/object_meta.hpp"

namespace kpr::k8s {

// The label the API server puts on every Namespace, holding its name, so a
// namespaceSelector can pick a namespace by name.
inline constexpr std::string_view namespace_name_label = "kubernetes.io/metadata.name";

struct Namespace {
    ObjectMeta meta; // namespace_ is empty: a Namespace is in none

    ObjectKey key() const { return {"Namespace", "", meta.name}; }
    bool operator==(const Namespace&) const = default;
};

} // namespace kpr::k8s
