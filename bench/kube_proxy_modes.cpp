// kube-proxy's rule layouts as benchmark modes: each loads the rules into its
// node namespace with the loader kube-proxy uses, charged to a memory cgroup
// of its own so the ruleset's kernel memory can be read.
#include <fmt/format.h>

#include "kube_proxy_iptables.hpp"
#include "kube_proxy_nftables.hpp"
#include "mode.hpp"
#include "rule_loader.hpp"

namespace kpr::bench {
namespace {

class RulesetMode : public Mode {
  public:
    RulesetMode(std::string name, const std::string& tag, ModeSettings settings)
        : Mode(std::move(name), tag, std::move(settings)), memcg_(MemoryCgroup::create(tag + "-rules")) {}

    std::optional<std::uint64_t> memory_bytes() const override { return memory_; }

  protected:
    // A timed loader run; with measure_memory, what it left charged is the
    // ruleset's memory. A failure other than the cap is a bug in the rules.
    Timing load(const std::vector<std::string>& argv, bool measure_memory) {
        const MemoryCgroup* memcg = memcg_ ? &*memcg_ : nullptr;
        const auto before = memcg ? memcg->kernel_bytes() : 0;
        const auto run = run_loader(argv, node().node(), memcg, settings().cap, settings().scratch_dir);
        if (!run.cut_off && run.exit_code != 0)
            throw std::runtime_error(fmt::format("{}: {} failed (exit {}): {}", name(), argv.front(), run.exit_code,
                                                 run.errors.substr(0, 2000)));
        if (measure_memory) {
            memory_.reset();
            if (memcg && !run.cut_off)
                memory_ = memcg->kernel_bytes() - std::min(before, memcg->kernel_bytes());
        }
        return {run.seconds, run.cut_off, {}};
    }

    void setup(const std::vector<std::string>& argv) { run_setup_loader(argv, node().node(), settings().scratch_dir); }

    std::filesystem::path rules_file(std::string_view name, const std::string& text) const {
        return write_rules_file(settings().scratch_dir, fmt::format("{}-{}", this->name(), name), text);
    }

  private:
    std::optional<MemoryCgroup> memcg_;
    std::optional<std::uint64_t> memory_;
};

class IptablesMode final : public RulesetMode {
  public:
    IptablesMode(ModeSettings settings, const std::string& backend)
        : RulesetMode("iptables-" + backend, "bipt" + backend, std::move(settings)),
          restore_("iptables-" + backend + "-restore") {}

    Timing program(const BenchCluster& cluster) override {
        setup(restore(rules_file("flush", iptables_flush_restore()), false));
        return load(restore(rules_file("full", iptables_full_restore(cluster)), false), true);
    }

    std::map<std::string, Timing> change_endpoint(const BenchCluster& before, const BenchCluster& after,
                                                  bool full_resync) override {
        std::map<std::string, Timing> timings;
        timings["partial restore"] =
            load(restore(rules_file("partial", iptables_partial_restore(before, after)), true), false);
        if (full_resync)
            timings["full restore"] = load(restore(rules_file("full", iptables_full_restore(after)), false), false);
        return timings;
    }

  private:
    // As kube-proxy runs it: wait for the xtables lock rather than fail.
    std::vector<std::string> restore(const std::filesystem::path& file, bool noflush) const {
        std::vector<std::string> argv{restore_, "-w", "5"};
        if (noflush)
            argv.push_back("--noflush");
        argv.push_back(file.string());
        return argv;
    }

    std::string restore_;
};

class NftablesMode final : public RulesetMode {
  public:
    explicit NftablesMode(ModeSettings settings) : RulesetMode("nftables", "bnft", std::move(settings)) {}

    Timing program(const BenchCluster& cluster) override {
        setup({"nft", "-f", rules_file("delete", nftables_delete_table()).string()});
        return load({"nft", "-f", rules_file("full", nftables_full_ruleset(cluster)).string()}, true);
    }

    std::map<std::string, Timing> change_endpoint(const BenchCluster& before, const BenchCluster& after,
                                                  bool) override {
        return {{"transaction",
                 load({"nft", "-f", rules_file("change", nftables_endpoint_change(before, after)).string()}, false)}};
    }
};

} // namespace

std::unique_ptr<Mode> make_iptables_mode(ModeSettings settings, const std::string& backend) {
    return std::make_unique<IptablesMode>(std::move(settings), backend);
}

std::unique_ptr<Mode> make_nftables_mode(ModeSettings settings) {
    return std::make_unique<NftablesMode>(std::move(settings));
}

} // namespace kpr::bench
