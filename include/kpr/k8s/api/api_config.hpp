// Where the Kubernetes API server is and how to authenticate to it: read
// from a kubeconfig file (its current context, or a named one) or from the
// in-cluster configuration a pod's service account provides. Every problem
// with a kubeconfig is an error naming the file, line and field.
#pragma once

#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/diagnostic.hpp"
#include "kpr/k8s/file_source.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/yaml/documents.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s::api {

// A PEM item given either inline (the kubeconfig's *-data fields, decoded)
// or as a file path; neither when absent.
struct PemSource {
    std::string data;
    std::filesystem::path file;

    bool empty() const { return data.empty() && file.empty(); }
};

struct ApiConfig {
    std::string server; // "https://host:port", no trailing slash
    PemSource certificate_authority;
    PemSource client_certificate;
    PemSource client_key;
    std::string token;                  // a fixed bearer token
    std::filesystem::path token_file;   // re-read on every request: it rotates
    bool insecure_skip_tls_verify = false;
    std::string origin; // "kubeconfig /root/.kube/config context admin@x", for logs

    // The bearer token to send now, if any: the token file's current content
    // wins over a fixed token, as in client-go.
    std::optional<std::string> bearer_token() const {
        if (!token_file.empty()) {
            auto content = k8s::detail::read_file_content(token_file);
            if (content.error)
                throw runtime::Error(fmt::format("reading token file {}: {}", token_file.string(),
                                                 content.error.message()));
            while (!content.text.empty() && (content.text.back() == '\n' || content.text.back() == '\r'))
                content.text.pop_back();
            return content.text;
        }
        if (!token.empty())
            return token;
        return std::nullopt;
    }
};

namespace detail {

// Standard base64 with padding, as kubeconfig's *-data fields hold; nullopt
// when the text is not that.
inline std::optional<std::string> decode_base64(std::string_view text) {
    std::string compact;
    for (char c : text)
        if (c != '\n' && c != '\r' && c != ' ')
            compact.push_back(c);
    if (compact.size() % 4 != 0)
        return std::nullopt;
    std::string out(compact.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(compact.data()),
                                  static_cast<int>(compact.size()));
    if (n < 0)
        return std::nullopt;
    std::size_t size = static_cast<std::size_t>(n);
    for (auto it = compact.rbegin(); it != compact.rend() && *it == '='; ++it)
        --size;
    out.resize(size);
    return out;
}

// The entry of a named list (clusters, contexts, users) whose name is name,
// and its inner map (cluster, context, user).
inline std::optional<yaml::YamlField> find_named(yaml::FieldReader& reader, const yaml::YamlField& document,
                                                 std::string_view list, std::string_view inner,
                                                 const std::string& name, const yaml::YamlField& referrer) {
    for (const yaml::YamlField& item : reader.read_list(document.child(list))) {
        if (!reader.require_map(item))
            continue;
        if (reader.read_string(item.child("name")) == name) {
            yaml::YamlField value = item.child(inner);
            if (!reader.require_map(value))
                return std::nullopt;
            return value;
        }
    }
    reader.report(referrer, fmt::format("no entry named {:?} in {}", name, list));
    return std::nullopt;
}

// A PEM item from "<field>" (a path, relative to the kubeconfig's directory)
// or "<field>-data" (base64).
inline PemSource read_pem(yaml::FieldReader& reader, const yaml::YamlField& map, std::string_view field,
                          const std::filesystem::path& base) {
    PemSource out;
    const yaml::YamlField data_field = map.child(fmt::format("{}-data", field));
    if (auto data = reader.read_string(data_field); data && !data->empty()) {
        if (auto decoded = decode_base64(*data))
            out.data = std::move(*decoded);
        else
            reader.report(data_field, "not valid base64");
    }
    const yaml::YamlField file_field = map.child(field);
    if (auto file = reader.read_string(file_field); file && !file->empty()) {
        if (!out.data.empty())
            reader.report(file_field, fmt::format("give {0} or {0}-data, not both", field));
        out.file = std::filesystem::path(*file).is_absolute() ? std::filesystem::path(*file) : base / *file;
        std::error_code error;
        if (!std::filesystem::is_regular_file(out.file, error))
            reader.report(file_field, fmt::format("{} is not a readable file", out.file.string()));
    }
    return out;
}

inline std::runtime_error config_error(const std::vector<Diagnostic>& problems) {
    std::string text;
    for (const auto& p : problems)
        text += (text.empty() ? "" : "\n") + p.str();
    return runtime::Error(text);
}

} // namespace detail

// The kubeconfig at path, in context (its current-context when empty).
// Throws runtime::Error listing every problem, each naming its field.
inline ApiConfig load_kubeconfig(const std::filesystem::path& path, const std::string& context = "") {
    const auto content = k8s::detail::read_file_content(path);
    if (content.error)
        throw runtime::Error(fmt::format("kubeconfig {}: {}", path.string(), content.error.message()));
    auto loaded = yaml::load_yaml_documents(content.text, path.string());
    if (loaded.syntax_error)
        throw runtime::Error(loaded.syntax_error->str());
    std::vector<Diagnostic> problems;
    yaml::FieldReader reader(path.string(), problems);
    if (loaded.documents.size() != 1) {
        problems.push_back({{path.string()}, "", "", "expected one YAML document"});
        throw detail::config_error(problems);
    }
    const auto document = yaml::YamlField::document(loaded.documents.front());
    const std::filesystem::path base = path.has_parent_path() ? path.parent_path() : ".";
    ApiConfig config;
    if (!reader.require_map(document))
        throw detail::config_error(problems);

    const yaml::YamlField current_field = document.child("current-context");
    std::string context_name = context;
    if (context_name.empty()) {
        context_name = reader.read_string(current_field).value_or("");
        if (context_name.empty()) {
            reader.report(current_field, "required (or choose a context with --context)");
            throw detail::config_error(problems);
        }
    }
    config.origin = fmt::format("kubeconfig {} context {}", path.string(), context_name);
    const auto context_map = detail::find_named(reader, document, "contexts", "context", context_name,
                                                context.empty() ? current_field : document.child("contexts"));
    if (!context_map)
        throw detail::config_error(problems);

    const yaml::YamlField cluster_ref = context_map->child("cluster");
    const yaml::YamlField user_ref = context_map->child("user");
    const auto cluster_name = reader.require(cluster_ref) ? reader.read_string(cluster_ref) : std::nullopt;
    const auto user_name = reader.read_string(user_ref);
    if (cluster_name)
        if (auto cluster = detail::find_named(reader, document, "clusters", "cluster", *cluster_name, cluster_ref)) {
            const yaml::YamlField server = cluster->child("server");
            if (reader.require(server)) {
                config.server = reader.read_string(server).value_or("");
                if (!config.server.starts_with("https://") && !config.server.starts_with("http://"))
                    reader.report(server, fmt::format("{:?} is not an http(s) URL", config.server));
                while (config.server.ends_with("/"))
                    config.server.pop_back();
            }
            config.certificate_authority = detail::read_pem(reader, *cluster, "certificate-authority", base);
            config.insecure_skip_tls_verify =
                reader.read_bool(cluster->child("insecure-skip-tls-verify")).value_or(false);
        }
    if (user_name && !user_name->empty())
        if (auto user = detail::find_named(reader, document, "users", "user", *user_name, user_ref)) {
            config.client_certificate = detail::read_pem(reader, *user, "client-certificate", base);
            config.client_key = detail::read_pem(reader, *user, "client-key", base);
            if (config.client_certificate.empty() != config.client_key.empty())
                reader.report(config.client_key.empty() ? user->child("client-key") : user->child("client-certificate"),
                              "required with the other half of the client certificate");
            config.token = reader.read_string(user->child("token")).value_or("");
            const yaml::YamlField token_file = user->child("tokenFile");
            if (auto file = reader.read_string(token_file); file && !file->empty()) {
                config.token_file =
                    std::filesystem::path(*file).is_absolute() ? std::filesystem::path(*file) : base / *file;
                std::error_code error;
                if (!std::filesystem::is_regular_file(config.token_file, error))
                    reader.report(token_file, fmt::format("{} is not a readable file", config.token_file.string()));
            }
            for (std::string_view unsupported : {"exec", "auth-provider", "username"})
                if (user->child(unsupported).present())
                    reader.report(user->child(unsupported),
                                  "not supported by kpr-agent (use a token, token file or client certificate)");
        }
    if (!problems.empty())
        throw detail::config_error(problems);
    return config;
}

// Where a pod's service account puts its credentials.
inline constexpr std::string_view service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";

// The in-cluster configuration: KUBERNETES_SERVICE_HOST and _PORT from the
// environment, the CA and the (rotating) token from the service account
// directory.
inline ApiConfig in_cluster_config(const std::filesystem::path& account_dir = service_account_dir) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        throw runtime::Error("in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                             "must be set (is kpr-agent running in a pod?)");
    ApiConfig config;
    const std::string_view h(host);
    config.server = h.find(':') != std::string_view::npos ? fmt::format("https://[{}]:{}", h, port)
                                                          : fmt::format("https://{}:{}", h, port);
    config.certificate_authority.file = account_dir / "ca.crt";
    config.token_file = account_dir / "token";
    for (const auto& file : {config.certificate_authority.file, config.token_file}) {
        std::error_code error;
        if (!std::filesystem::is_regular_file(file, error))
            throw runtime::Error(fmt::format("in-cluster configuration: {} is missing", file.string()));
    }
    config.origin = fmt::format("in-cluster configuration ({})", config.server);
    return config;
}

} // namespace kpr::k8s::api
