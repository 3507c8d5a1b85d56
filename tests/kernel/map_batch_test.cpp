// runtime::Map's batch writes against a real kernel hash map: entries land,
// read back in batches, absent keys in a delete batch are skipped, and a full map is reported as
// full by name, as per-entry writes would.
#include <bpf/bpf.h>

#include <array>
#include <map>

#include <gtest/gtest.h>

#include "kpr/runtime/map.hpp"
#include "testbed/privileges.hpp"

namespace kpr::runtime {
namespace {

constexpr std::uint32_t capacity = 4;

struct MapBatch : ::testing::Test {
    UniqueFd fd;

    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        fd = UniqueFd(bpf_map_create(BPF_MAP_TYPE_HASH, "kprt_batch", sizeof(layout::BackendKey),
                                     sizeof(layout::Backend4), capacity, nullptr));
        ASSERT_TRUE(fd) << errno_text(errno);
    }

    // Backends told apart by their protocol byte, all the test reads back.
    static layout::Backend4 backend(std::uint8_t marker) {
        layout::Backend4 b{};
        b.proto = marker;
        return b;
    }
};

TEST_F(MapBatch, UpdatesLandAndDeletesSkipAbsentKeys) {
    Map<layout::BackendKey, layout::Backend4> map(layout::backends4, fd.get());
    const std::array keys{layout::BackendKey{1}, layout::BackendKey{2}, layout::BackendKey{3}};
    const std::array values{backend(11), backend(12), backend(13)};
    map.update_batch(keys, values);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto got = map.lookup(keys[i]);
        ASSERT_TRUE(got) << i;
        EXPECT_EQ(got->proto, values[i].proto);
    }

    std::map<std::uint32_t, std::uint8_t> read_back;
    map.for_each([&](const layout::BackendKey& k, const layout::Backend4& v) { read_back[k.backend_id] = v.proto; });
    EXPECT_EQ(read_back, (std::map<std::uint32_t, std::uint8_t>{{1, 11}, {2, 12}, {3, 13}}));

    // Key 7 was never written: the kernel stops there, the map goes on after it.
    const std::array doomed{layout::BackendKey{1}, layout::BackendKey{7}, layout::BackendKey{3}};
    map.erase_batch(doomed);
    EXPECT_FALSE(map.lookup(layout::BackendKey{1}));
    EXPECT_TRUE(map.lookup(layout::BackendKey{2}));
    EXPECT_FALSE(map.lookup(layout::BackendKey{3}));
}

TEST_F(MapBatch, ABatchBeyondCapacityIsReportedAsFull) {
    Map<layout::BackendKey, layout::Backend4> map(layout::backends4, fd.get());
    std::vector<layout::BackendKey> keys;
    std::vector<layout::Backend4> values;
    for (std::uint32_t i = 1; i <= capacity + 1; ++i) {
        keys.push_back({i});
        values.push_back(backend(static_cast<std::uint8_t>(i)));
    }
    try {
        map.update_batch(keys, values);
        FAIL() << "a batch beyond the capacity was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("kpr_backend4 is full (capacity 4)"), std::string::npos) << e.what();
    }
}

// An LPM trie resumes a batch read from a key (20 bytes for IPv6), not a
// bucket index: more entries than one chunk read back whole, and nothing
// past the resume token is overwritten.
TEST(MapBatchLpm, AnIpv6TrieReadsBackWholeAcrossChunks) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    LIBBPF_OPTS(bpf_map_create_opts, create, .map_flags = BPF_F_NO_PREALLOC);
    UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "kprt_lpm6", sizeof(layout::IpcacheKey6),
                               sizeof(layout::IpcacheValue), 1024, &create));
    ASSERT_TRUE(fd) << errno_text(errno);
    Map<layout::IpcacheKey6, layout::IpcacheValue> map(layout::ipcache6, fd.get());
    std::map<std::uint32_t, std::uint32_t> written;
    for (std::uint32_t i = 1; i <= 600; ++i) {
        layout::IpcacheKey6 key{128, {}};
        key.address[0] = layout::be32::from_host(0xfd000000u);
        key.address[3] = layout::be32::from_host(i);
        map.update(key, {i + 1000, 2, 0});
        written[i] = i + 1000;
    }
    std::map<std::uint32_t, std::uint32_t> read_back;
    map.for_each([&](const layout::IpcacheKey6& k, const layout::IpcacheValue& v) {
        read_back[k.address[3].host()] = v.identity;
    });
    EXPECT_EQ(read_back, written);
}

} // namespace
} // namespace kpr::runtime
