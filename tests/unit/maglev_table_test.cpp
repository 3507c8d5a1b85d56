// Maglev table properties: even shares, little disruption when a backend
// goes, the same table whatever order the backends came in.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/sync/maglev_table.hpp"

namespace kpr {
namespace {

using sync::maglev_table;

constexpr std::uint32_t table_size = 16381; // the schema's default, prime

std::vector<std::string> backends(std::size_t n) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i)
        names.push_back(fmt::format("10.244.{}.{}:8080", i / 200, i % 200 + 10));
    return names;
}

// Slot -> backend name, so tables of different backend lists compare.
std::vector<std::string> named(const std::vector<std::uint32_t>& table,
                               const std::vector<std::string>& names) {
    std::vector<std::string> out;
    out.reserve(table.size());
    for (auto b : table)
        out.push_back(names.at(b));
    return out;
}

TEST(MaglevTable, EveryBackendHoldsAnEvenShare) {
    for (std::size_t n : {1u, 2u, 3u, 10u, 100u}) {
        const auto names = backends(n);
        const auto table = maglev_table(names, table_size);
        ASSERT_EQ(table.size(), table_size);
        std::map<std::uint32_t, std::size_t> share;
        for (auto b : table)
            ++share[b];
        ASSERT_EQ(share.size(), n) << "every backend has slots";
        for (const auto& [b, slots] : share) {
            // Maglev fills in turns, so shares differ by at most one slot.
            EXPECT_GE(slots, table_size / n) << names[b];
            EXPECT_LE(slots, table_size / n + 1) << names[b];
        }
    }
}

TEST(MaglevTable, RemovingOneOfNBackendsMovesAboutOneNthOfTheSlots) {
    for (std::size_t n : {5u, 10u, 50u}) {
        const auto before_names = backends(n);
        const auto before = named(maglev_table(before_names, table_size), before_names);
        auto after_names = before_names;
        const auto removed = after_names[n / 2];
        after_names.erase(after_names.begin() + static_cast<long>(n / 2));
        const auto after = named(maglev_table(after_names, table_size), after_names);

        std::size_t moved = 0, of_removed = 0;
        for (std::size_t s = 0; s < table_size; ++s) {
            if (before[s] == removed)
                ++of_removed;
            else if (before[s] != after[s])
                ++moved;
        }
        EXPECT_NEAR(static_cast<double>(of_removed) / table_size, 1.0 / n, 0.001);
        // Slots of the backends that stayed: the paper reports a few per
        // cent moving; more than the removed backend's own share would mean
        // the table is not consistent.
        EXPECT_LT(static_cast<double>(moved) / table_size, 1.0 / n)
            << n << " backends: " << moved << " slots of remaining backends moved";
    }
}

TEST(MaglevTable, TheOrderBackendsArriveInDoesNotMatter) {
    auto names = backends(30);
    const auto reference = named(maglev_table(names, table_size), names);
    std::mt19937 shuffle(7);
    for (int round = 0; round < 5; ++round) {
        std::shuffle(names.begin(), names.end(), shuffle);
        EXPECT_EQ(named(maglev_table(names, table_size), names), reference);
    }
}

TEST(MaglevTable, RefusesWhatCannotMakeATable) {
    EXPECT_TRUE(maglev_table({}, table_size).empty());
    const std::vector<std::string> twice{"10.0.0.1:80", "10.0.0.1:80"};
    EXPECT_THROW(maglev_table(twice, table_size), std::invalid_argument);
    EXPECT_THROW(maglev_table(backends(8), 7), std::invalid_argument);
    EXPECT_THROW(maglev_table(backends(1), 1), std::invalid_argument);
}

} // namespace
} // namespace kpr
