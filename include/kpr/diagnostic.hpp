// One problem found in input — a cluster schema or a Kubernetes object:
// where it is, which object and field, and what is wrong. Every error kpr
// reports about input takes this shape.
#pragma once

#include <string>

#include <fmt/format.h>

namespace kpr {

// A place in a source: a file and a 1-based line and column, or an API URL.
struct SourceLocation {
    std::string source;
    int line = 0;
    int column = 0;

    std::string str() const {
        if (line == 0)
            return source;
        return fmt::format("{}:{}:{}", source, line, column);
    }
};

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

} // namespace kpr
