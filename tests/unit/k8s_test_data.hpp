// Test support for decoding tests: the files under tests/data/k8s, a
// decode result's diagnostics as the text users see, and the cluster state
// a source would hold for a YAML text.
#pragma once

#include <fstream>
#include <string_view>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kpr/k8s/cluster_state.hpp"
#include "kpr/k8s/yaml_decode.hpp"

namespace kpr::k8s::test_data {

inline std::string read_test_file(const std::string& name) {
    std::ifstream in(std::string(KPR_TEST_DATA_DIR) + "/k8s/" + name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline std::vector<std::string> diagnostic_texts(const std::vector<Diagnostic>& diagnostics) {
    std::vector<std::string> out;
    for (const Diagnostic& d : diagnostics)
        out.push_back(d.str());
    return out;
}

inline std::vector<std::string> error_texts(const DecodeResult& result) {
    return diagnostic_texts(result.errors);
}

// The Services and EndpointSlices in yaml (documents separated by ---),
// which must decode without error, keyed as a source keeps them.
inline ClusterState cluster_state(std::string_view yaml) {
    const DecodeResult decoded = decode_yaml(yaml, "test.yaml");
    for (const Diagnostic& d : decoded.errors)
        ADD_FAILURE() << "the test's YAML does not decode: " << d.str();
    ClusterState state;
    for (const Service& s : decoded.services)
        state.services.emplace(s.key(), s);
    for (const EndpointSlice& s : decoded.endpoint_slices)
        state.endpoint_slices.emplace(s.key(), s);
    return state;
}

} // namespace kpr::k8s::test_data
