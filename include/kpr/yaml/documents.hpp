// Parsing YAML (or JSON) text into its documents, with a syntax error as a
// Diagnostic rather than an exception, and places in the text as 1-based
// SourceLocations.
//
// yaml-cpp 0.7's LoadAll never returns on a stray ',' where a document should
// start (jbeder/yaml-cpp#1040; fixed upstream after 0.8 by #1319): it begins
// document after document at that token without consuming it, allocating
// until memory runs out. A typo in a watched file must not take the agent
// down, so a first pass over the parser's events looks for that stall, and
// LoadAll only runs on text it can finish. The pass costs about two thirds of
// a parse, and only files that changed are parsed.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "kpr/diagnostic.hpp"

namespace kpr::yaml {

// yaml-cpp marks are 0-based; diagnostics count from 1.
inline SourceLocation source_location(const std::string& source, const YAML::Mark& mark) {
    return {source, mark.line + 1, mark.column + 1};
}

struct YamlDocuments {
    std::vector<YAML::Node> documents;      // empty documents included, as null nodes
    std::optional<Diagnostic> syntax_error; // when set, there are no documents
};

namespace detail {

// Notices the parser starting a document where the previous one started,
// which means it made no progress and never will.
class StallDetector final : public YAML::EventHandler {
  public:
    void OnDocumentStart(const YAML::Mark& mark) override {
        stalled_ = started_ && mark.pos == start_.pos;
        started_ = true;
        start_ = mark;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

    bool stalled() const { return stalled_; }
    const YAML::Mark& start() const { return start_; }

  private:
    bool started_ = false;
    bool stalled_ = false;
    YAML::Mark start_;
};

// Where the parser would stall, if it would. Throws YAML::Exception on a
// syntax error, as LoadAll would.
inline std::optional<YAML::Mark> find_parser_stall(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StallDetector detector;
    while (parser.HandleNextDocument(detector))
        if (detector.stalled())
            return detector.start();
    return std::nullopt;
}

} // namespace detail

inline YamlDocuments load_yaml_documents(std::string_view text, const std::string& source_name) {
    const std::string owned(text);
    try {
        if (auto stall = detail::find_parser_stall(owned))
            return {{},
                    Diagnostic{source_location(source_name, *stall), "", "",
                               fmt::format("invalid YAML: unexpected {:?}",
                                           owned.substr(static_cast<std::size_t>(stall->pos), 1))}};
        return {YAML::LoadAll(owned), std::nullopt};
    } catch (const YAML::Exception& e) {
        return {{},
                Diagnostic{source_location(source_name, e.mark), "", "",
                           fmt::format("invalid YAML: {}", e.msg)}};
    }
}

} // namespace kpr::yaml
