// Must not compile: a field type with no fixed C spelling (a signed int
// whose width the BPF side would have to guess).
#include "kpr/layout/maps.hpp"

struct VagueValue {
    static constexpr std::string_view c_name = "vague_value";
    long count;
};
BOOST_HANA_ADAPT_STRUCT(VagueValue, count);

inline constexpr kpr::layout::MapSpec<kpr::layout::BackendKey, VagueValue> vague{
    "vague", kpr::layout::MapType::hash, kpr::net::Family::ipv4,
    kpr::layout::schema_capacity("backends"), kpr::layout::Datapath::socket};
