// Label selectors match exactly as Kubernetes defines: all of matchLabels
// and matchExpressions must hold, empty matches everything, an absent
// selector nothing; label key and value syntax as the API server checks it.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "kpr/k8s/label_selector.hpp"
#include "kpr/k8s/label_syntax.hpp"

namespace kpr::k8s {
namespace {

SelectorRequirement requirement(std::string key, SelectorOperator op,
                                std::set<std::string> values = {}) {
    return {std::move(key), op, std::move(values)};
}

TEST(LabelSelector, EmptyMatchesEverythingAbsentNothing) {
    EXPECT_TRUE(LabelSelector{}.matches({}));
    EXPECT_TRUE(LabelSelector{}.matches({{"app", "web"}}));
    EXPECT_TRUE(matches_optional(LabelSelector{}, {}));
    EXPECT_FALSE(matches_optional(std::nullopt, {{"app", "web"}}));
}

TEST(LabelSelector, MatchLabelsNeedsEveryPair) {
    const LabelSelector s{{{"app", "web"}, {"tier", "front"}}, {}};
    EXPECT_TRUE(s.matches({{"app", "web"}, {"tier", "front"}, {"extra", "x"}}));
    EXPECT_FALSE(s.matches({{"app", "web"}}));
    EXPECT_FALSE(s.matches({{"app", "web"}, {"tier", "back"}}));
    // An empty value is a value: it must be there.
    const LabelSelector empty_value{{{"flag", ""}}, {}};
    EXPECT_TRUE(empty_value.matches({{"flag", ""}}));
    EXPECT_FALSE(empty_value.matches({}));
}

TEST(LabelSelector, Operators) {
    const Labels web{{"app", "web"}};
    const Labels db{{"app", "db"}};
    const Labels none{};
    const auto in = requirement("app", SelectorOperator::In, {"web", "api"});
    EXPECT_TRUE(in.matches(web));
    EXPECT_FALSE(in.matches(db));
    EXPECT_FALSE(in.matches(none));
    const auto not_in = requirement("app", SelectorOperator::NotIn, {"web"});
    EXPECT_FALSE(not_in.matches(web));
    EXPECT_TRUE(not_in.matches(db));
    EXPECT_TRUE(not_in.matches(none)); // a missing key is "not in" any set
    const auto exists = requirement("app", SelectorOperator::Exists);
    EXPECT_TRUE(exists.matches(db));
    EXPECT_FALSE(exists.matches(none));
    const auto absent = requirement("app", SelectorOperator::DoesNotExist);
    EXPECT_FALSE(absent.matches(db));
    EXPECT_TRUE(absent.matches(none));
}

TEST(LabelSelector, LabelsAndExpressionsCombine) {
    const LabelSelector s{{{"app", "web"}},
                          {requirement("env", SelectorOperator::NotIn, {"prod"}),
                           requirement("canary", SelectorOperator::DoesNotExist)}};
    EXPECT_TRUE(s.matches({{"app", "web"}, {"env", "dev"}}));
    EXPECT_TRUE(s.matches({{"app", "web"}}));
    EXPECT_FALSE(s.matches({{"app", "web"}, {"env", "prod"}}));
    EXPECT_FALSE(s.matches({{"app", "web"}, {"canary", "true"}}));
    EXPECT_FALSE(s.matches({{"env", "dev"}}));
    EXPECT_EQ(s.keys(), (std::set<std::string>{"app", "canary", "env"}));
}

TEST(LabelSyntax, Keys) {
    EXPECT_EQ(label_key_problem("app"), std::nullopt);
    EXPECT_EQ(label_key_problem("app.kubernetes.io/name"), std::nullopt);
    EXPECT_EQ(label_key_problem("kubernetes.io/metadata.name"), std::nullopt);
    EXPECT_EQ(label_key_problem("A_b-c.D"), std::nullopt);
    EXPECT_NE(label_key_problem(""), std::nullopt);
    EXPECT_NE(label_key_problem("/name"), std::nullopt);
    EXPECT_NE(label_key_problem("example.com/"), std::nullopt);
    EXPECT_NE(label_key_problem("Example.com/name"), std::nullopt);
    EXPECT_NE(label_key_problem("-app"), std::nullopt);
    EXPECT_NE(label_key_problem(std::string(64, 'a')), std::nullopt);
    EXPECT_EQ(label_key_problem(std::string(63, 'a')), std::nullopt);
}

TEST(LabelSyntax, Values) {
    EXPECT_EQ(label_value_problem(""), std::nullopt);
    EXPECT_EQ(label_value_problem("v1.2_rc-3"), std::nullopt);
    EXPECT_NE(label_value_problem("has space"), std::nullopt);
    EXPECT_NE(label_value_problem("trailing-"), std::nullopt);
    EXPECT_NE(label_value_problem("a/b"), std::nullopt);
}

} // namespace
} // namespace kpr::k8s
