// Reading typed fields out of parsed YAML (or JSON): each read checks the
// node's shape the way the Kubernetes API server's decoding would, and a
// problem becomes a Diagnostic pointing at the offending node, so one pass
// over a document reports every error rather than the first. Nothing here
// knows a particular kind of object.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/diagnostic.hpp"
#include "kpr/yaml/documents.hpp"

namespace kpr::yaml {

// A node of a document with its field path ("spec.ports[1].port") and the
// place a problem with it is reported. An absent or null field has a null
// node: the Kubernetes API reads JSON null as "unset". It is placed at its
// key when it has one, else at the map it is missing from.
class YamlField {
  public:
    static YamlField document(const YAML::Node& node) { return {node, "", node.Mark()}; }

    // The value under key; absent unless this field is a map holding key.
    YamlField child(std::string_view key) const {
        if (node_.IsMap())
            for (const auto& entry : node_)
                if (entry.first.IsScalar() && entry.first.Scalar() == key)
                    return value_field(key, entry.first, entry.second);
        return {YAML::Node(), child_path(key), mark_};
    }

    // The keys and values of a map, in document order; empty when this field
    // is not one.
    std::vector<std::pair<std::string, YamlField>> entries() const {
        std::vector<std::pair<std::string, YamlField>> out;
        if (!node_.IsMap())
            return out;
        for (const auto& entry : node_) {
            std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
            out.emplace_back(key, value_field(key, entry.first, entry.second));
        }
        return out;
    }

    // The entries of a sequence; empty when this field is not one.
    std::vector<YamlField> items() const {
        std::vector<YamlField> out;
        if (!node_.IsSequence())
            return out;
        out.reserve(node_.size());
        for (const auto& item : node_) {
            const YAML::Mark mark = item.IsNull() ? mark_ : item.Mark();
            out.push_back({item, fmt::format("{}[{}]", path_, out.size()), mark});
        }
        return out;
    }

    YamlField(const YamlField&) = default;
    YamlField(YamlField&&) = default;
    // Assigning a YAML::Node rewrites the node it refers to, inside the
    // document, so a YamlField is never reassigned.
    YamlField& operator=(const YamlField&) = delete;
    YamlField& operator=(YamlField&&) = delete;

    bool present() const { return node_.IsDefined() && !node_.IsNull(); }
    const YAML::Node& node() const { return node_; }
    const std::string& path() const { return path_; }
    const YAML::Mark& mark() const { return mark_; }

  private:
    std::string child_path(std::string_view key) const {
        return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
    }

    // A null value's own mark points at the token after it, so a null value
    // is placed at its key.
    YamlField value_field(std::string_view key, const YAML::Node& key_node,
                          const YAML::Node& value) const {
        return {value, child_path(key), value.IsNull() ? key_node.Mark() : value.Mark()};
    }

    YamlField(YAML::Node node, std::string path, YAML::Mark mark)
        : node_(std::move(node)), path_(std::move(path)), mark_(mark) {}

    YAML::Node node_;
    std::string path_;
    YAML::Mark mark_;
};

// How a message names a value it did not expect.
inline std::string describe_node(const YAML::Node& node) {
    if (node.IsMap())
        return "a map";
    if (node.IsSequence())
        return "a list";
    if (node.IsScalar())
        return fmt::format("{:?}", node.Scalar());
    return "null";
}

// " (did you mean \"families\"?)" when one of `known` is a likely
// intended spelling of `word`, else "". Likely: at most a third of its
// letters (and at least one) differ, counting insertions and deletions and
// ignoring case ("ipv6" for "IPv6").
inline std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& known) {
    const auto distance = [](std::string_view a, std::string_view b) {
        const auto same = [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
        };
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j)
            row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t substitution = diagonal + (same(a[i - 1], b[j - 1]) ? 0 : 1);
                diagonal = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
            }
        }
        return row[b.size()];
    };
    std::string_view best;
    std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
    for (auto candidate : known) {
        const auto d = distance(word, candidate);
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best.empty() ? std::string() : fmt::format(" (did you mean {:?}?)", best);
}

// Reads typed values out of YamlFields and collects the problems found as
// Diagnostics naming the source, the object being read and the field. Every
// read returns nullopt (or an empty value) for an absent field, and also,
// after reporting, for a malformed one.
class FieldReader {
  public:
    FieldReader(std::string source, std::vector<Diagnostic>& errors)
        : source_(std::move(source)), errors_(errors) {}

    // Names the object ("Service default/web") in the diagnostics that follow.
    void name_object(std::string object) { object_ = std::move(object); }

    void report(const YamlField& field, std::string message) {
        errors_.push_back(
            {source_location(source_, field.mark()), object_, field.path(), std::move(message)});
    }

    std::size_t error_count() const { return errors_.size(); }
    const std::string& source() const { return source_; }

    bool require(const YamlField& field) {
        if (field.present())
            return true;
        report(field, "required");
        return false;
    }

    // True for a map; reports anything else that is present.
    bool expect_map(const YamlField& field) {
        if (field.node().IsMap())
            return true;
        if (field.present())
            report(field, fmt::format("expected a map, got {}", describe_node(field.node())));
        return false;
    }

    bool require_map(const YamlField& field) { return require(field) && expect_map(field); }

    // Reports each key of a map that is not one of `known`, placed at the
    // key (its value may start lines later): a misspelt field must not
    // silently fall back to its default.
    void reject_unknown_fields(const YamlField& field, const std::vector<std::string_view>& known) {
        if (!field.node().IsMap())
            return;
        for (const auto& entry : field.node()) {
            const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
            if (std::find(known.begin(), known.end(), key) == known.end())
                errors_.push_back({source_location(source_, entry.first.Mark()), object_,
                                   field.child(key).path(),
                                   fmt::format("unknown field{}", did_you_mean(key, known))});
        }
    }

    std::vector<YamlField> read_list(const YamlField& field) {
        if (field.present() && !field.node().IsSequence())
            report(field, fmt::format("expected a list, got {}", describe_node(field.node())));
        return field.items();
    }

    // Any scalar reads as its text, as Kubernetes' YAML decoding does for a
    // string field (so `name: 80` is the name "80").
    std::optional<std::string> read_string(const YamlField& field) {
        if (!field.present())
            return std::nullopt;
        if (!field.node().IsScalar()) {
            report(field, fmt::format("expected a string, got {}", describe_node(field.node())));
            return std::nullopt;
        }
        return field.node().Scalar();
    }

    // A map of strings, such as metadata.labels.
    std::map<std::string, std::string> read_string_map(const YamlField& field) {
        std::map<std::string, std::string> out;
        if (!expect_map(field))
            return out;
        for (const auto& [key, value] : field.entries())
            out.emplace(key, read_string(value).value_or(""));
        return out;
    }

    // YAML 1.1 booleans, as Kubernetes' YAML decoder reads them; in JSON
    // only true and false occur. A quoted "true" is a string, not a boolean.
    std::optional<bool> read_bool(const YamlField& field) {
        if (!field.present())
            return std::nullopt;
        if (is_plain_scalar(field.node())) {
            const std::string& text = field.node().Scalar();
            for (std::string_view yes :
                 {"true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON"})
                if (text == yes)
                    return true;
            for (std::string_view no :
                 {"false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF"})
                if (text == no)
                    return false;
        }
        report(field, fmt::format("expected true or false, got {}", describe_node(field.node())));
        return std::nullopt;
    }

    // A decimal integer within [min, max]. A quoted "80" is a string, which
    // the API server rejects for an integer field, and so does kpr.
    std::optional<std::int64_t> read_integer(const YamlField& field, std::int64_t min,
                                             std::int64_t max) {
        if (!field.present())
            return std::nullopt;
        if (!is_integer_text(field.node())) {
            report(field, fmt::format("expected an integer, got {}", describe_node(field.node())));
            return std::nullopt;
        }
        const std::optional<std::int64_t> value = integer_value(field.node().Scalar());
        if (!value || *value < min || *value > max) {
            report(field, fmt::format("{} is out of range {}-{}", field.node().Scalar(), min, max));
            return std::nullopt;
        }
        return value;
    }

    // Whether node reads as an integer: an optionally signed run of decimal
    // digits, however long, written without quotes.
    static bool is_integer_text(const YAML::Node& node) {
        if (!is_plain_scalar(node))
            return false;
        std::string_view text = node.Scalar();
        if (!text.empty() && (text.front() == '-' || text.front() == '+'))
            text.remove_prefix(1);
        return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    }

  private:
    // A scalar written without quotes: the only kind YAML resolves to a
    // number or a boolean (JSON's numbers and true/false are such scalars).
    static bool is_plain_scalar(const YAML::Node& node) {
        return node.IsScalar() && node.Tag() == "?";
    }

    // The value of integer text (see is_integer_text); nullopt when it does
    // not fit in 64 bits.
    static std::optional<std::int64_t> integer_value(std::string_view text) {
        if (text.front() == '+')
            text.remove_prefix(1);
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size())
            return std::nullopt;
        return value;
    }

    std::string source_;
    std::string object_;
    std::vector<Diagnostic>& errors_;
};

} // namespace kpr::yaml
