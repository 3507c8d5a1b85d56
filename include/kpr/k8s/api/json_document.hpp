// An object from the API server (a simdjson element) as the YAML document
// the Kubernetes decoders read, so the API and the file source share one
// decoding of each kind. JSON strings become quoted scalars and numbers and
// booleans plain ones, exactly as yaml-cpp parses the same JSON text, so
// every type check reads the same. metadata.managedFields, the largest part
// of a stored object and read by no decoder, is left out.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include "kpr/k8s/api/resource.hpp"

namespace kpr::k8s::api {

namespace detail {

inline YAML::Node scalar(std::string text, const char* tag) {
    YAML::Node node(std::move(text));
    node.SetTag(tag);
    return node;
}

inline YAML::Node to_yaml(simdjson::dom::element value, int depth) {
    using simdjson::dom::element_type;
    switch (value.type()) {
    case element_type::OBJECT: {
        YAML::Node map(YAML::NodeType::Map);
        const simdjson::dom::object object = value.get_object().value_unsafe();
        for (auto [key, child] : object) {
            if (depth == 1 && key == "managedFields")
                continue;
            map.force_insert(std::string(key), to_yaml(child, depth + 1));
        }
        return map;
    }
    case element_type::ARRAY: {
        YAML::Node list(YAML::NodeType::Sequence);
        const simdjson::dom::array array = value.get_array().value_unsafe();
        for (auto child : array)
            list.push_back(to_yaml(child, depth + 1));
        return list;
    }
    case element_type::STRING:
        return scalar(std::string(value.get_string().value_unsafe()), "!");
    case element_type::INT64:
        return scalar(std::to_string(value.get_int64().value_unsafe()), "?");
    case element_type::UINT64:
        return scalar(std::to_string(value.get_uint64().value_unsafe()), "?");
    case element_type::DOUBLE:
        return scalar(simdjson::to_string(value), "?");
    case element_type::BOOL:
        return scalar(value.get_bool().value_unsafe() ? "true" : "false", "?");
    case element_type::NULL_VALUE:
        break;
    }
    return YAML::Node(YAML::NodeType::Null);
}

} // namespace detail

// The object as a document of resource's kind: list items come without kind
// and apiVersion, so they are filled in from the resource.
inline YAML::Node json_document(simdjson::dom::element object, const Resource& resource) {
    YAML::Node document = detail::to_yaml(object, 0);
    const YAML::Node& lookup = document; // a const lookup adds no key
    if (document.IsMap()) {
        if (!lookup["kind"])
            document["kind"] = detail::scalar(std::string(resource.kind), "!");
        if (!lookup["apiVersion"])
            document["apiVersion"] = detail::scalar(resource.api_version(), "!");
    }
    return document;
}

} // namespace kpr::k8s::api
