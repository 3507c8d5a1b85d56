// Decoding Kubernetes objects from YAML or JSON text — what `kubectl get -o
// yaml` / `-o json` prints, or what one writes for `kubectl apply` — into
// kpr's typed Services, EndpointSlices, Pods, Namespaces, NetworkPolicies
// and Nodes, with every problem reported as a Diagnostic. The caller decides what to keep: an object with an invalid
// field is named in `rejected` so its previous good version can stay, and a
// document that cannot even be identified is flagged so that objects missing
// from this read are not mistaken for deleted ones.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/k8s/diagnostic.hpp"
#include "kpr/k8s/endpoint_slice.hpp"
#include "kpr/k8s/endpoint_slice_decode.hpp"
#include "kpr/k8s/namespace_decode.hpp"
#include "kpr/k8s/network_policy_decode.hpp"
#include "kpr/k8s/node_decode.hpp"
#include "kpr/k8s/pod_decode.hpp"
#include "kpr/yaml/field_reader.hpp"
#include "kpr/k8s/object_meta.hpp"
#include "kpr/k8s/service.hpp"
#include "kpr/k8s/service_decode.hpp"
#include "kpr/yaml/documents.hpp"

namespace kpr::k8s {

struct DecodeResult {
    std::vector<Service> services;
    std::vector<EndpointSlice> endpoint_slices;
    std::vector<Pod> pods;
    std::vector<Namespace> namespaces;
    std::vector<NetworkPolicy> network_policies;
    std::vector<Node> nodes;
    // Identified objects (kind, namespace and name known) with invalid fields.
    std::vector<ObjectKey> rejected;
    // Every problem found, not just the first.
    std::vector<Diagnostic> errors;
    // False when some document's kind or name could not be determined, or
    // the text is not valid YAML.
    bool all_documents_identified = true;
};

namespace detail {

enum class DocumentKind { Service, EndpointSlice, Pod, Namespace, NetworkPolicy, Node, List };

struct KnownKind {
    std::string_view kind;
    std::string_view api_version;
    DocumentKind document_kind;
    bool namespaced = true;
};

inline constexpr KnownKind known_kinds[] = {
    {"Service", "v1", DocumentKind::Service},
    {"EndpointSlice", "discovery.k8s.io/v1", DocumentKind::EndpointSlice},
    {"Pod", "v1", DocumentKind::Pod},
    {"Namespace", "v1", DocumentKind::Namespace, false},
    {"NetworkPolicy", "networking.k8s.io/v1", DocumentKind::NetworkPolicy},
    {"Node", "v1", DocumentKind::Node, false},
    {"List", "v1", DocumentKind::List},
};

// kind and apiVersion, checked against the kinds kpr reads.
inline const KnownKind* identify_kind(yaml::FieldReader& reader, const yaml::YamlField& document) {
    const yaml::YamlField kind_field = document.child("kind");
    if (!reader.require(kind_field))
        return nullptr;
    const auto kind = reader.read_string(kind_field);
    if (!kind)
        return nullptr;
    const auto known = std::find_if(std::begin(known_kinds), std::end(known_kinds),
                                    [&](const KnownKind& k) { return k.kind == *kind; });
    if (known == std::end(known_kinds)) {
        reader.report(kind_field, fmt::format("unknown kind {:?} (kpr reads v1 Service, "
                                              "discovery.k8s.io/v1 EndpointSlice, v1 Pod, v1 "
                                              "Namespace, networking.k8s.io/v1 NetworkPolicy and "
                                              "v1 Node, alone or in a v1 List)",
                                              *kind));
        return nullptr;
    }
    const yaml::YamlField version_field = document.child("apiVersion");
    if (!reader.require(version_field))
        return nullptr;
    const auto version = reader.read_string(version_field);
    if (!version)
        return nullptr;
    if (*version != known->api_version) {
        reader.report(version_field, fmt::format("kpr reads {} from apiVersion {}, not {:?}",
                                                 known->kind, known->api_version, *version));
        return nullptr;
    }
    return known;
}

// metadata.namespace and metadata.name, which with the kind identify the
// object. An absent or empty namespace is "default", as for kubectl apply;
// a cluster-scoped kind is in none, whatever metadata.namespace says.
inline std::optional<ObjectKey> identify_object(yaml::FieldReader& reader, const KnownKind& kind,
                                                const yaml::YamlField& metadata) {
    if (!reader.require_map(metadata))
        return std::nullopt;
    const std::size_t errors_before = reader.error_count();
    const yaml::YamlField name_field = metadata.child("name");
    const auto name = reader.read_string(name_field);
    if (!name_field.present() || (name && name->empty()))
        reader.report(name_field, "required");
    const auto namespace_ = reader.read_string(metadata.child("namespace"));
    if (reader.error_count() != errors_before)
        return std::nullopt;
    if (!kind.namespaced)
        return ObjectKey{std::string(kind.kind), "", *name};
    return ObjectKey{std::string(kind.kind),
                     namespace_ && !namespace_->empty() ? *namespace_ : "default", *name};
}

// Keeps the object when decoding it reported nothing new, else names it as
// rejected.
template <class Object>
void accept_if_valid(Object object, const yaml::FieldReader& reader, std::size_t errors_before,
                     std::vector<Object>& accepted, std::vector<ObjectKey>& rejected) {
    if (reader.error_count() == errors_before)
        accepted.push_back(std::move(object));
    else
        rejected.push_back(object.key());
}

inline void decode_document(yaml::FieldReader& reader, const yaml::YamlField& document, DecodeResult& out) {
    if (!document.present())
        return; // an empty document, or an empty List item
    reader.name_object("");
    const KnownKind* kind =
        reader.require_map(document) ? identify_kind(reader, document) : nullptr;
    if (!kind) {
        out.all_documents_identified = false;
        return;
    }
    if (kind->document_kind == DocumentKind::List) {
        const std::size_t errors_before = reader.error_count();
        const std::vector<yaml::YamlField> items = reader.read_list(document.child("items"));
        if (reader.error_count() != errors_before)
            out.all_documents_identified = false;
        // Each item is an object of its own: its fields' paths start afresh.
        for (const yaml::YamlField& item : items)
            decode_document(reader, yaml::YamlField::document(item.node()), out);
        return;
    }

    const yaml::YamlField metadata = document.child("metadata");
    const auto key = identify_object(reader, *kind, metadata);
    if (!key) {
        out.all_documents_identified = false;
        return;
    }
    reader.name_object(key->str());
    const std::size_t errors_before = reader.error_count();
    ObjectMeta meta{key->namespace_, key->name, reader.read_string_map(metadata.child("labels")),
                    yaml::source_location(reader.source(), document.mark())};
    switch (kind->document_kind) {
    case DocumentKind::Service:
        accept_if_valid(decode_service(reader, document, std::move(meta)), reader, errors_before,
                        out.services, out.rejected);
        break;
    case DocumentKind::EndpointSlice:
        accept_if_valid(decode_endpoint_slice(reader, document, std::move(meta)), reader,
                        errors_before, out.endpoint_slices, out.rejected);
        break;
    case DocumentKind::Pod:
        accept_if_valid(decode_pod(reader, document, std::move(meta)), reader, errors_before,
                        out.pods, out.rejected);
        break;
    case DocumentKind::Namespace:
        accept_if_valid(decode_namespace(reader, document, std::move(meta)), reader,
                        errors_before, out.namespaces, out.rejected);
        break;
    case DocumentKind::NetworkPolicy:
        accept_if_valid(decode_network_policy(reader, document, std::move(meta)), reader,
                        errors_before, out.network_policies, out.rejected);
        break;
    case DocumentKind::Node:
        accept_if_valid(decode_node(reader, document, std::move(meta)), reader, errors_before, out.nodes,
                        out.rejected);
        break;
    case DocumentKind::List:
        break; // decoded item by item above
    }
}

} // namespace detail

// Decodes every document of text (separated by ---; each a Service, an
// EndpointSlice, a Pod, a Namespace, a NetworkPolicy, a Node or a v1 List of them). source_name names text in
// diagnostics. A YAML syntax error yields one diagnostic and no objects:
// the parser cannot resume after it.
inline DecodeResult decode_yaml(std::string_view text, const std::string& source_name) {
    DecodeResult out;
    yaml::YamlDocuments loaded = yaml::load_yaml_documents(text, source_name);
    if (loaded.syntax_error) {
        out.errors.push_back(std::move(*loaded.syntax_error));
        out.all_documents_identified = false;
        return out;
    }
    yaml::FieldReader reader(source_name, out.errors);
    for (const YAML::Node& document : loaded.documents)
        detail::decode_document(reader, yaml::YamlField::document(document), out);
    return out;
}

} // namespace kpr::k8s
