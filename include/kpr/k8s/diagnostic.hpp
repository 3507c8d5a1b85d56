// One problem found in input: where it is, which object and field, and what
// is wrong. Every error kpr reports about input takes this shape.
#pragma once

#include <string>

#include <fmt/format.h>

#include "kpr/k8s/object_meta.hpp"

namespace kpr::k8s {

struct Diagnostic {
    SourceLocation where;
    std::string object; // "Service default/web"; empty when not yet known
    std::string field;  // "spec.ports[1].port"; empty for whole-document problems
    std::string message;

    // "svc.yaml:12:9: Service default/web: spec.ports[1].port: 70000 is out of range 1-65535"
    std::string str() const {
        std::string out = where.str();
        if (!object.empty())
            out += fmt::format(": {}", object);
        if (!field.empty())
            out += fmt::format(": {}", field);
        out += fmt::format(": {}", message);
        return out;
    }
};

} // namespace kpr::k8s
