// What every Kubernetes object kpr reads has in common: its identity
// (kind, namespace, name), its labels, and where in a source it was found.
#pragma once

#include <compare>
#include <map>
#include <string>

#include <fmt/format.h>

#include "kpr/diagnostic.hpp"

namespace kpr::k8s {

using kpr::SourceLocation;

// Identifies one object across sources and re-reads.
struct ObjectKey {
    std::string kind;
    std::string namespace_;
    std::string name;

    auto operator<=>(const ObjectKey&) const = default;

    // "Service default/web", as error messages name objects.
    std::string str() const {
        if (namespace_.empty())
            return fmt::format("{} {}", kind, name);
        return fmt::format("{} {}/{}", kind, namespace_, name);
    }
};

struct ObjectMeta {
    std::string namespace_;
    std::string name;
    std::map<std::string, std::string> labels;
    SourceLocation location;

    bool operator==(const ObjectMeta& o) const {
        return namespace_ == o.namespace_ && name == o.name && labels == o.labels;
    }
};

} // namespace kpr::k8s
