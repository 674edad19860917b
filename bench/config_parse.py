"""Device-config parse time: per fixture (median of N) and a round-robin run over every whole fixture.

Parses the whole (not truncated) fixtures under tests/rules/fixtures/configs/<platform>/*.cfg with
`canhgac_rules.configs.parse_config`, in one process and one thread. Every fixture is parsed once
before timing, so lazy imports and first-call caches are not counted (the cold import of the parsers
is printed separately). The compliance bench's budget (1,000 configs + 5,000 host fact sets in
≤ 10 s) is what `per_config_ms` is judged against.

Last line (JSON): configs, seconds, per_config_ms, per_fixture_median_ms, import_s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "rules" / "fixtures" / "configs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=1000, help="parses in the round-robin run")
    ap.add_argument("--repeat", type=int, default=50, help="parses per fixture for its median")
    ap.add_argument("--json", action="store_true", help="print only the JSON line")
    args = ap.parse_args()

    started = time.perf_counter()
    from canhgac_rules.configs import parse_config

    import_s = time.perf_counter() - started
    paths = sorted(p for p in FIXTURES.glob("*/*.cfg") if "truncated" not in p.name)
    if not paths:
        raise SystemExit(f"no fixtures under {FIXTURES}")
    texts = [(f"{p.parent.name}/{p.name}", p.read_text()) for p in paths]
    for name, text in texts:  # warm-up: lazy imports, regex caches
        parse_config(text, source=name)

    medians: dict[str, float] = {}
    for name, text in texts:
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            parse_config(text, source=name)
            runs.append(time.perf_counter() - t0)
        medians[name] = round(statistics.median(runs) * 1000, 3)

    t0 = time.perf_counter()
    for i in range(args.configs):
        name, text = texts[i % len(texts)]
        parse_config(text, source=name)
    seconds = time.perf_counter() - t0

    if not args.json:
        print(f"cold import of the parsers: {import_s:.3f} s")
        print(f"{'fixture':50} {'lines':>6} {'median ms':>10}")
        for name, text in texts:
            print(f"{name:50} {len(text.splitlines()):6d} {medians[name]:10.3f}")
        print(f"{args.configs} round-robin parses over {len(texts)} fixtures: {seconds:.3f} s")
    print(
        json.dumps(
            {
                "configs": args.configs,
                "seconds": round(seconds, 3),
                "per_config_ms": round(seconds * 1000 / args.configs, 3),
                "per_fixture_median_ms": medians,
                "import_s": round(import_s, 3),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
