#!/usr/bin/python3
"""Turns kpr-bench's results.json into results.md (tables, the issue's goals
checked) and three plots: setup_rate.png (TCP connection rate against the
number of Services), latency.png (connect latency) and control_plane.png
(programming and endpoint-change times, memory). Every data-plane figure is
also given as a ratio to the floor (no load balancer) measured in the same
repetition of the same run; the spread is the minimum and maximum over the
repetitions.

Usage: report.py results.json OUT_DIR
"""
import json
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FLOOR = "direct"
STYLE = {
    "direct": dict(color="black", marker="o", linestyle="--", label="no load balancer (floor)"),
    "kpr": dict(color="tab:green", marker="s", label="kpr (socket LB)"),
    "iptables-nft": dict(color="tab:red", marker="^", label="kube-proxy iptables (nft back end)"),
    "iptables-legacy": dict(color="tab:orange", marker="v", label="kube-proxy iptables (legacy)"),
    "nftables": dict(color="tab:blue", marker="D", label="kube-proxy nftables"),
}
KINDS = {
    "tcp-last": "TCP connect/request/response/close, Service last in kube-proxy's order",
    "tcp-random": "TCP connect/request/response/close, random Services",
    "udp-last": "UDP request/response through the last Service's VIP",
}


def spread(values):
    """Median and the interquartile range (min and max below four values)."""
    if len(values) < 4:
        return statistics.median(values), min(values), max(values)
    q1, _, q3 = statistics.quantiles(values, n=4)
    return statistics.median(values), q1, q3


def runs(size, kind, mode):
    return size.get("traffic", {}).get(kind, {}).get(mode, [])


def paired_ratios(size, kind, mode, field="rate"):
    """mode / floor, repetition by repetition."""
    floor = {r["repetition"]: r[field] for r in runs(size, kind, FLOOR)}
    return [r[field] / floor[r["repetition"]] for r in runs(size, kind, mode)
            if floor.get(r["repetition"])]


def fmt_rate(v):
    return f"{v / 1000:.2f}k"


def fmt_seconds(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def program_seconds(size, mode):
    p = size.get("program", {}).get(mode)
    return None if p is None or p["cut_off"] else p["seconds"]


def program_phase(size, mode, phase):
    p = size.get("program", {}).get(mode)
    return None if p is None or p["cut_off"] else p.get("phases", {}).get(phase)


def change_seconds(size, mode, how, phase=None):
    """Median, min, max over the changes; of one phase when given."""
    changes = size.get("endpoint_change", {}).get(mode, {}).get(how, [])
    if not changes or any(c["cut_off"] for c in changes):
        return None
    done = [c["phases"][phase] if phase else c["seconds"] for c in changes]
    return spread(done)


def change_ways(results, modes):
    """(mode, how, phase) columns: every way each mode changed an endpoint,
    and kpr's map writes on their own."""
    ways = []
    for m in modes:
        for how in sorted({h for s in results["sizes"] for h in s.get("endpoint_change", {}).get(m, {})}):
            ways.append((m, how, None))
            if m == "kpr":
                ways.append((m, how, "map writes"))
    return ways


def way_label(mode, how, phase):
    return f"{mode}: {phase}" if phase else f"{mode}: {how}"


def size_table(results, columns, header, cell, lines):
    """One row per size, one column per entry of columns; cell(size, column) -> text."""
    lines.append("| Services | " + " | ".join(header(c) for c in columns) + " |")
    lines.append("|---:|" + "---:|" * len(columns))
    for size in results["sizes"]:
        lines.append(f"| {size['services']:,} | " + " | ".join(cell(size, c) for c in columns) + " |")
    lines.append("")


def traffic_cell(kind, describe):
    """A data-plane cell: describe(size, mode, runs), or why there are none."""
    def cell(size, mode):
        rs = runs(size, kind, mode)
        if not rs:
            return "skipped" if mode in size.get("skipped", {}) else "–"
        return describe(size, mode, rs)
    return cell


def traffic_table(results, kind, lines):
    lines.append(f"### {KINDS[kind]}\n")
    lines.append("Exchanges per second, median (interquartile range) over the rounds, and × the "
                 "floor: the median [interquartile range] of the ratios to the floor's run of the same "
                 "round.\n")

    def describe(size, mode, rs):
        med, lo, hi = spread([r["rate"] for r in rs])
        errors = sum(r["errors"] for r in rs)
        text = f"{fmt_rate(med)} ({fmt_rate(lo)}–{fmt_rate(hi)})"
        if mode != FLOOR:
            rmed, rlo, rhi = spread(paired_ratios(size, kind, mode))
            text += f"<br>×{rmed:.3f} [{rlo:.3f}–{rhi:.3f}]"
        return text + (f"<br>{errors} errors" if errors else "")

    size_table(results, results["modes"], str, traffic_cell(kind, describe), lines)


def latency_table(results, kind, lines):
    what = "Connect latency" if kind.startswith("tcp") else "Round trip"
    lines.append(f"### {what}, {KINDS[kind]}\n")
    lines.append("p50 / p99 in µs, medians over the rounds; × the floor's p50 (median of the "
                 "per-round ratios).\n")

    def describe(size, mode, rs):
        p50 = statistics.median(r["p50_us"] for r in rs)
        p99 = statistics.median(r["p99_us"] for r in rs)
        text = f"{p50:.0f} / {p99:.0f}"
        if mode != FLOOR:
            text += f"<br>×{statistics.median(paired_ratios(size, kind, mode, 'p50_us')):.2f}"
        return text

    size_table(results, results["modes"], str, traffic_cell(kind, describe), lines)


def control_tables(results, lines):
    modes = [m for m in results["modes"] if m != FLOOR]
    cap = results["meta"]["cap_seconds"]
    lines.append("### Programming N Services from scratch\n")
    lines.append(f"One run per size; × kpr (the agent, end to end). For kpr, also the phases of the "
                 "same sync replayed in-process: the map writes and the reading and YAML decoding of "
                 f"the objects. A step longer than {cap} s is cut off and the mode "
                 "skips the larger sizes. Memory: kernel memory the rules hold (charged to the "
                 "loader's memory cgroup) or kpr's maps hold (bpftool's memlock; preallocated, so "
                 "fixed by the schema's capacity).\n")
    def program_cell(size, mode):
        p = size.get("program", {}).get(mode)
        if p is None:
            return "skipped"
        if p["cut_off"]:
            return f"cut off at {p['seconds']:.0f} s"
        kpr = program_seconds(size, "kpr")
        text = fmt_seconds(p["seconds"])
        if kpr and mode != "kpr":
            text += f" (×{p['seconds'] / kpr:.1f})"
        writes = program_phase(size, mode, "map writes")
        if writes is not None:
            decode = program_phase(size, mode, "read and decode")
            text += f"<br>map writes {fmt_seconds(writes)}, YAML {fmt_seconds(decode)}"
        if "memory_bytes" in p:
            text += f"<br>{p['memory_bytes'] / 2**20:.1f} MiB"
        return text

    size_table(results, modes, str, program_cell, lines)

    lines.append("### One endpoint change at size N\n")
    lines.append("Median (interquartile range; min–max below four) over the changes. kpr: the agent's sync after one "
                 "EndpointSlice file changed, and of that the map writes; iptables: kube-proxy's "
                 "partial restore (`--noflush`, top-level chains in full) and, once per size, a full "
                 "restore; nftables: kube-proxy's transaction for the changed chains. A mode repeats "
                 "the change only while its changes at that size took less than "
                 f"{results['meta'].get('change_budget_seconds', 'the budget')} s.\n")
    def change_cell(size, way):
        c = change_seconds(size, *way)
        return "–" if c is None else f"{fmt_seconds(c[0])} ({fmt_seconds(c[1])}–{fmt_seconds(c[2])})"

    size_table(results, change_ways(results, modes), lambda w: way_label(*w), change_cell, lines)


def goals(results, lines):
    sizes = results["sizes"]
    lines.append("### The issue's goals\n")
    lines.append("| goal | measured | verdict |")
    lines.append("|---|---|---|")

    def row(goal, measured, ok):
        lines.append(f"| {goal} | {measured} | {'met' if ok else '**missed**'} |")

    for kind in ("tcp-last", "tcp-random"):
        ratios = [(s["services"], statistics.median(paired_ratios(s, kind, "kpr")))
                  for s in sizes if runs(s, kind, "kpr")]
        if not ratios:
            continue
        worst = min(ratios, key=lambda r: r[1])
        row(f"kpr within 3% of the floor at every N ({kind})",
            "worst ×{:.3f} at {:,}".format(worst[1], worst[0]), worst[1] >= 0.97)
        if len(ratios) > 1:
            drift = ratios[-1][1] / ratios[0][1] - 1
            row(f"kpr flat ±3% from {ratios[0][0]:,} to {ratios[-1][0]:,} ({kind}, ratio to floor)",
                f"{drift:+.1%}", abs(drift) <= 0.03)
    for size in sizes:
        if size["services"] != 10000:
            continue
        for phase, what in ((None, "agent sync"), ("map writes", "map writes")):
            kpr = change_seconds(size, "kpr", "agent sync", phase)
            for backend in ("iptables-nft", "iptables-legacy"):
                full = change_seconds(size, backend, "full restore")
                if kpr and full:
                    factor = full[0] / kpr[0]
                    row(f"one endpoint change at 10,000 Services ≥100× faster than a full {backend} "
                        f"restore (kpr {what})",
                        f"×{factor:.0f} ({fmt_seconds(kpr[0])} vs {fmt_seconds(full[0])})", factor >= 100)
    for phase, what in ((None, "the agent, end to end"), ("map writes", "map writes")):
        slower = []
        for size in sizes:
            kpr = program_phase(size, "kpr", phase) if phase else program_seconds(size, "kpr")
            for loader in ("iptables-nft", "iptables-legacy", "nftables"):
                p = size.get("program", {}).get(loader)
                if kpr is None or p is None:
                    continue
                if not p["cut_off"] and p["seconds"] <= kpr:
                    slower.append(f"{size['services']:,} vs {loader}: kpr {fmt_seconds(kpr)}, "
                                  f"{loader} {fmt_seconds(p['seconds'])}")
        row(f"kpr ({what}) programs N Services faster than iptables-restore and nft -f at every N",
            "slower at " + "; ".join(slower) if slower else "faster at every N measured", not slower)
    lines.append("")


def style_axis(ax, title, ylabel, log_y):
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("Services")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


def save_figure(fig, results, title, path):
    fig.suptitle(caption(results, title))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_traffic(results, out):
    modes = results["modes"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, kind in zip(axes, KINDS):
        for mode in modes:
            xs, med, lo, hi = [], [], [], []
            for size in results["sizes"]:
                rs = runs(size, kind, mode)
                if rs:
                    m, a, b = spread([r["rate"] for r in rs])
                    xs.append(size["services"])
                    med.append(m / 1000)
                    lo.append((m - a) / 1000)
                    hi.append((b - m) / 1000)
            if xs:
                ax.errorbar(xs, med, yerr=[lo, hi], capsize=3, **STYLE.get(mode, {"label": mode}))
        style_axis(ax, KINDS[kind].replace(", ", ",\n", 1), "thousand exchanges / s", log_y=False)
    axes[0].legend(fontsize=8, loc="lower left")
    save_figure(fig, results, "Exchange rate (median, bars: interquartile range over the rounds)",
                out / "setup_rate.png")


def plot_latency(results, out):
    modes = results["modes"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, kind in zip(axes, ("tcp-last", "tcp-random")):
        for mode in modes:
            xs, p50, p99 = [], [], []
            for size in results["sizes"]:
                rs = runs(size, kind, mode)
                if rs:
                    xs.append(size["services"])
                    p50.append(statistics.median(r["p50_us"] for r in rs))
                    p99.append(statistics.median(r["p99_us"] for r in rs))
            if xs:
                style = STYLE.get(mode, {"label": mode})
                ax.plot(xs, p50, **style)
                ax.plot(xs, p99, **{**style, "label": None, "linestyle": ":", "alpha": 0.6})
        style_axis(ax, KINDS[kind].replace(", ", ",\n", 1), "connect latency, µs (solid p50, dotted p99)",
                   log_y=True)
    axes[0].legend(fontsize=8, loc="upper left")
    save_figure(fig, results, "Connect latency", out / "latency.png")


def plot_control_plane(results, out):
    modes = [m for m in results["modes"] if m != FLOOR]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ax = axes[0]
    for mode in modes:
        pts = [(s["services"], program_seconds(s, mode)) for s in results["sizes"]]
        pts = [p for p in pts if p[1] is not None]
        if pts:
            ax.plot(*zip(*pts), **STYLE.get(mode, {"label": mode}))
        writes = [(s["services"], program_phase(s, mode, "map writes")) for s in results["sizes"]]
        writes = [p for p in writes if p[1] is not None]
        if writes:
            ax.plot(*zip(*writes), **{**STYLE[mode], "linestyle": ":", "label": f"{mode}: map writes only"})
        cut = [s["services"] for s in results["sizes"]
               if s.get("program", {}).get(mode, {}).get("cut_off")]
        if cut:
            ax.plot(cut, [results["meta"]["cap_seconds"]] * len(cut), linestyle="none", marker="x",
                    markersize=10, color=STYLE.get(mode, {}).get("color"))
    style_axis(ax, "Programming N Services from scratch\n(× = cut off at the cap)", "seconds", log_y=True)

    ax = axes[1]
    first_of_mode = set()
    for mode, how, phase in change_ways(results, modes):
        pts = [(s["services"], change_seconds(s, mode, how, phase)) for s in results["sizes"]]
        pts = [(n, c[0]) for n, c in pts if c is not None]
        if pts:
            style = {**STYLE.get(mode, {}), "label": way_label(mode, how, phase)}
            if mode in first_of_mode:
                style["linestyle"] = ":"
            first_of_mode.add(mode)
            ax.plot(*zip(*pts), **style)
    style_axis(ax, "One endpoint change at size N (median)", "seconds", log_y=True)

    ax = axes[2]
    for mode in modes:
        pts = [(s["services"], s.get("program", {}).get(mode, {}).get("memory_bytes")) for s in results["sizes"]]
        pts = [(n, b / 2**20) for n, b in pts if b]
        if pts:
            ax.plot(*zip(*pts), **STYLE.get(mode, {"label": mode}))
    style_axis(ax, "Kernel memory held by the rules / maps", "MiB", log_y=True)
    for ax in axes:
        ax.legend(fontsize=7, loc="upper left")
    save_figure(fig, results, "Control plane", out / "control_plane.png")


def caption(results, title):
    meta = results["meta"]
    return (f"{title} — {meta['date']}, kernel {meta['kernel']}, {meta['cpus']} CPUs, "
            f"load average {meta['load_average_start']:.1f}→{meta['load_average_end']:.1f}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    meta = results["meta"]
    lines = [
        "# kpr against kube-proxy's rule layouts\n",
        f"Run {meta['date']} on kernel {meta['kernel']}, {meta['cpus']} CPUs, one-minute load average "
        f"{meta['load_average_start']:.2f} at the start and {meta['load_average_end']:.2f} at the end"
        f" ({meta['wall_seconds']:.0f} s in all). {meta['endpoints_per_service']} endpoints per Service; "
        f"{meta['repetitions']} rounds of {meta['duration_ms']} ms"
        f"{' or ' + str(meta['count']) + ' exchanges' if meta['count'] else ''} per mode and target, "
        f"{meta['parallel']} exchanges in flight, modes alternating within each round. "
        f"{meta['iptables']}; {meta['nft']}; niceness {meta.get('nice', 0)}."
        f"{' **Smoke run: too short for conclusions.**' if meta['smoke'] else ''}\n",
        "Modes: `direct` connects straight to a backend (the floor); `kpr` is the socket load "
        "balancer programmed by kpr-agent; `iptables-nft` and `iptables-legacy` are kube-proxy's "
        "iptables rules loaded with iptables-nft-restore / iptables-legacy-restore; `nftables` is "
        "kube-proxy's nftables ruleset loaded with nft -f. How it is measured: docs/benchmarks.md.\n",
        "![setup rate](setup_rate.png)\n",
        "![control plane](control_plane.png)\n",
        "![latency](latency.png)\n",
    ]
    goals(results, lines)
    lines.append("## Data plane\n")
    for kind in KINDS:
        traffic_table(results, kind, lines)
    for kind in KINDS:
        latency_table(results, kind, lines)
    lines.append("## Control plane\n")
    control_tables(results, lines)
    skipped = {m: why for s in results["sizes"] for m, why in s.get("skipped", {}).items()}
    if skipped:
        lines.append("### Cut off\n")
        for mode, why in skipped.items():
            lines.append(f"- {mode}: {why}")
        lines.append("")
    (out / "results.md").write_text("\n".join(lines))
    plot_traffic(results, out)
    plot_latency(results, out)
    plot_control_plane(results, out)


if __name__ == "__main__":
    main()
