"""`/metrics` render time and size: our cached-line renderer against prometheus_client's default registry.

Both hold the same series: interface families labelled (site, device, ifname) as a province's switches
produce them, ~48 ports per device, values that differ per series. Each case runs in its own process
(so memory figures do not mix); the render is timed as a scrape would run it (best of `--repeat`, our
side; prometheus_client once at 500k since it takes seconds). Outputs are parsed back to check both
expose the same number of samples.

    .venv/bin/python bench/exposition.py [--json] [--series 100000 500000] [--repeat 3]

Last line: JSON for the largest case: {"series", "ours_s", "baseline_s", "ratio", "ours_bytes",
"baseline_bytes", "ours_rss_mb", "baseline_rss_mb", "cases": [...]}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = (
    ("canhgac_interface_oper_up", "1 when ifOperStatus is up, else 0."),
    ("canhgac_interface_in_bytes_per_second", "Received rate between the last two polls."),
    ("canhgac_interface_out_bytes_per_second", "Sent rate between the last two polls."),
    ("canhgac_interface_utilisation_ratio", "max(in, out) / speed, 0..1."),
    ("canhgac_interface_speed_bytes_per_second", "Interface speed."),
)
LABELS = ("site", "device", "ifname")


def _label_sets(series: int) -> list[tuple[str, str, str]]:
    per_family = series // len(FAMILIES)
    out = []
    for i in range(per_family):
        device = i // 48
        out.append((f"HT-XA-{device // 4:04d}", f"sw-{device:05d}", f"GigabitEthernet1/0/{i % 48 + 1}"))
    return out


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 1e6


def run_case(kind: str, series: int, repeat: int) -> dict[str, Any]:
    """One side, in this process: build, render `repeat` times, report the best time."""
    sets = _label_sets(series)
    rss0 = _rss_mb()
    render: Any
    if kind == "ours":
        sys.path[:0] = [str(ROOT / "collector")]
        from canhgac_collector.metrics.exposition import Registry

        registry = Registry()
        for f, (name, help_text) in enumerate(FAMILIES):
            fam = registry.family(name, "gauge", help_text, LABELS, max_series=len(sets))
            for i, labels in enumerate(sets):
                fam.set(labels, i * 0.5 + f)

        def render() -> bytes:
            return registry.render().encode()

    else:
        from prometheus_client import CollectorRegistry, Gauge, generate_latest

        reg = CollectorRegistry()
        for f, (name, help_text) in enumerate(FAMILIES):
            gauge = Gauge(name, help_text, LABELS, registry=reg)
            for i, labels in enumerate(sets):
                gauge.labels(*labels).set(i * 0.5 + f)

        def render() -> bytes:
            return generate_latest(reg)

    built_rss = _rss_mb() - rss0
    times = []
    body = b""
    for _ in range(repeat):
        started = time.perf_counter()
        body = render()
        times.append(time.perf_counter() - started)
    samples = sum(1 for ln in body.splitlines() if ln and not ln.startswith(b"#"))
    return {
        "kind": kind,
        "series": len(sets) * len(FAMILIES),
        "render_s": min(times),
        "bytes": len(body),
        "samples": samples,
        "rss_mb": round(built_rss, 1),
    }


def _spawn(kind: str, series: int, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--case", kind, "--series", str(series), "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print only the final JSON line")
    parser.add_argument("--series", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--repeat", type=int, default=3, help="renders per case (best is kept)")
    parser.add_argument("--case", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.series[0], args.repeat)))
        return 0
    cases = []
    for series in args.series:
        ours = _spawn("ours", series, args.repeat)
        base = _spawn("baseline", series, 1 if series > 200_000 else args.repeat)
        if ours["samples"] != base["samples"]:
            print(
                f"sample counts differ: ours {ours['samples']}, baseline {base['samples']}", file=sys.stderr
            )
            return 1
        case = {
            "series": ours["series"],
            "ours_s": round(ours["render_s"], 4),
            "baseline_s": round(base["render_s"], 4),
            "ratio": round(ours["render_s"] / base["render_s"], 4),
            "ours_bytes": ours["bytes"],
            "baseline_bytes": base["bytes"],
            "ours_rss_mb": ours["rss_mb"],
            "baseline_rss_mb": base["rss_mb"],
        }
        cases.append(case)
        if not args.json:
            print(
                f"{case['series']:>8} series  ours {case['ours_s']:.3f} s "
                f"({case['ours_bytes'] / 1e6:.1f} MB, "
                f"+{case['ours_rss_mb']:.0f} MB RSS)  prometheus_client {case['baseline_s']:.3f} s "
                f"({case['baseline_bytes'] / 1e6:.1f} MB, +{case['baseline_rss_mb']:.0f} MB RSS)  "
                f"ratio {case['ratio']:.3f}"
            )
    final = {**cases[-1], "cases": cases}
    print(json.dumps(final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
