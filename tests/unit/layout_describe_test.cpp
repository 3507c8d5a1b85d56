// The layout reflection: offsets, sizes and C spellings derived from the
// Boost.Hana declarations are the ones the C++ compiler itself uses.
#include <cstddef>

#include <gtest/gtest.h>

#include "kpr/layout/maps.hpp"

namespace kpr::layout {
namespace {

TEST(LayoutDescribe, OffsetsMatchTheCompiler) {
    const auto d = describe<ServiceKey4>();
    EXPECT_EQ(d.c_name, "kpr_service4_key");
    EXPECT_EQ(d.size, sizeof(ServiceKey4));
    ASSERT_EQ(d.fields.size(), 6u);
    EXPECT_EQ(d.fields[0].offset, offsetof(ServiceKey4, address));
    EXPECT_EQ(d.fields[1].offset, offsetof(ServiceKey4, port));
    EXPECT_EQ(d.fields[2].offset, offsetof(ServiceKey4, proto));
    EXPECT_EQ(d.fields[4].offset, offsetof(ServiceKey4, backend_slot));
    EXPECT_EQ(d.fields[4].name, "backend_slot");
    EXPECT_EQ(d.fields[0].c_type, "__be32");
    EXPECT_EQ(d.fields[4].c_type, "__u16");
}

TEST(LayoutDescribe, ArraysKeepTheirElementTypeAndExtent) {
    const auto d = describe<RevNatKey6>();
    ASSERT_EQ(d.fields.size(), 4u);
    EXPECT_EQ(d.fields[1].name, "address");
    EXPECT_EQ(d.fields[1].c_type, "__be32");
    EXPECT_EQ(d.fields[1].extent, 4u);
    EXPECT_EQ(d.fields[1].size, 16u);
    EXPECT_EQ(d.fields[1].offset, offsetof(RevNatKey6, address));
    EXPECT_EQ(d.fields[3].offset, offsetof(RevNatKey6, pad0));
    EXPECT_EQ(d.size, 32u);
}

TEST(LayoutDescribe, EveryMapNameFitsTheKernelsLimit) {
    boost::hana::for_each(all_maps, [](const auto& m) {
        EXPECT_LE(m.name.size(), max_map_name_length) << m.name;
    });
}

} // namespace
} // namespace kpr::layout
