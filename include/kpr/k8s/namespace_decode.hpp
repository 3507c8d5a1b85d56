// Decoding a v1/Namespace: its name and labels, with the label the API
// server adds to every Namespace (kubernetes.io/metadata.name, always equal
// to the name) put in place when the input lacks it, and refused when the
// input gives it another value, as the API server refuses it.
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>

#include "kpr/k8s/namespace.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s {

// The Namespace in the document; meaningful only when the reader reported
// no new error.
inline Namespace decode_namespace(yaml::FieldReader& reader, const yaml::YamlField& document,
                                  ObjectMeta meta) {
    Namespace out;
    out.meta = std::move(meta);
    out.meta.namespace_.clear();
    const std::string label(namespace_name_label);
    const auto [it, added] = out.meta.labels.try_emplace(label, out.meta.name);
    if (!added && it->second != out.meta.name)
        reader.report(
            document.child("metadata").child("labels").child(label),
            fmt::format("must be the namespace's name {:?}, not {:?}", out.meta.name, it->second));
    return out;
}

} // namespace kpr::k8s
