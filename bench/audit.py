"""Compliance audit throughput: 1,000 device configs + 5,000 host fact sets against all shipped packs.

Configs are generated variations of the parser fixtures (tests/rules/fixtures/configs/<platform>/*.cfg:
hostname, interface descriptions, a community, telnet/timeouts toggled), host fact sets variations of
the host samples (tests/rules/fixtures/hosts). Everything is written to a temp folder first and read
back by the offline audit's own readers, so the timing covers reading, parsing (once per file),
compiling the checks (once per scan) and evaluating. One process, one thread.

Last line (JSON): seconds, findings, findings_per_s, configs, hosts, parse_s, evaluate_s, rules.
Target: seconds ≤ 10.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common
from _common import REPO, log

FIXTURES = REPO / "tests" / "rules" / "fixtures"


def vary_config(text: str, index: int, rng: random.Random) -> str:
    """A plausible sibling of a fixture config: new hostname, descriptions, maybe telnet/community."""
    text = re.sub(r"(?m)^(hostname|sysname) \S+", lambda m: f"{m.group(1)} dev-{index:04d}", text)
    text = re.sub(r"(?m)^(set system host-name) \S+;?", lambda m: f"{m.group(1)} dev-{index:04d};", text)
    text = re.sub(r"(?m)^( description) .*$", lambda m: f"{m.group(1)} port {rng.randint(1, 999)}", text)
    if rng.random() < 0.3:
        text = text.replace("transport input ssh", "transport input telnet ssh")
    if rng.random() < 0.3:
        text = re.sub(r"community \S+", f"community c{rng.randint(1000, 9999)}", text, count=1)
    return text


def vary_host(facts: dict[str, Any], index: int, rng: random.Random) -> dict[str, Any]:
    doc = json.loads(json.dumps(facts))
    doc.setdefault("host", {})["hostname"] = f"pc-{index:05d}"
    policy = doc.get("password_policy") or {}
    policy["min_length"] = rng.choice([0, 6, 8, 12, 14])
    policy["lockout_attempts"] = rng.choice([0, 3, 5, 10, 20])
    doc["listening_ports"] = [
        *doc.get("listening_ports", []),
        *(
            {
                "proto": "tcp",
                "address": "0.0.0.0",
                "port": rng.choice([22, 23, 80, 443, 3389, 8080]),
                "pid": None,
                "process": None,
            }
            for _ in range(rng.randint(0, 4))
        ),
    ]
    return doc


def generate(root: Path, configs: int, hosts: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    sources = sorted((FIXTURES / "configs").glob("*/*.cfg"))
    if not sources:
        raise SystemExit("no config fixtures under tests/rules/fixtures/configs")
    config_dir, facts_dir = root / "configs", root / "facts"
    config_dir.mkdir()
    facts_dir.mkdir()
    texts = [(path, path.read_text(encoding="utf-8")) for path in sources]
    for index in range(configs):
        path, text = texts[index % len(texts)]
        (config_dir / f"{index:04d}-{path.parent.name}-{path.name}").write_text(
            vary_config(text, index, rng), encoding="utf-8"
        )
    samples = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((FIXTURES / "hosts").glob("*.json"))
        if p.name not in ("truncated.json", "not-a-report.json")
    ]
    for index in range(hosts):
        doc = vary_host(samples[index % len(samples)], index, rng)
        (facts_dir / f"host-{index:05d}.json").write_text(json.dumps(doc), encoding="utf-8")
    return config_dir, facts_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="progress off; last line JSON")
    args = parser.parse_args()
    _common.QUIET = args.json

    from canhgac_rules.audit import iter_device_targets, iter_host_targets
    from canhgac_rules.engine import Target, run_scan
    from canhgac_rules.validate import load_default_packs

    packs = load_default_packs()
    with tempfile.TemporaryDirectory(prefix="canhgac-audit-bench-") as tmp:
        log(f"generating {args.configs} configs and {args.hosts} host fact sets …")
        config_dir, facts_dir = generate(Path(tmp), args.configs, args.hosts, args.seed)
        parse_s = 0.0

        def timed(source: Iterator[Target]) -> Iterator[Target]:
            nonlocal parse_s
            while True:
                start = time.perf_counter()
                try:
                    target = next(source)
                except StopIteration:
                    return
                parse_s += time.perf_counter() - start
                yield target

        def targets() -> Iterator[Target]:
            yield from timed(iter_device_targets(config_dir))
            yield from timed(iter_host_targets(facts_dir))

        log("auditing …")
        start = time.perf_counter()
        result = run_scan(packs, targets(), args.level, now=dt.datetime.now(dt.UTC))
        seconds = time.perf_counter() - start
    findings = len(result.findings)
    counts = result.scores()["overall"]
    errors = sum(1 for t in result.targets if t.error)
    log(
        f"{args.configs} configs + {args.hosts} hosts at level {args.level}: {findings} findings in "
        f"{seconds:.2f} s (read+parse {parse_s:.2f} s, evaluate {seconds - parse_s:.2f} s); {counts}; "
        f"{errors} unusable targets"
    )
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "findings": findings,
                "findings_per_s": round(findings / seconds),
                "configs": args.configs,
                "hosts": args.hosts,
                "parse_s": round(parse_s, 3),
                "evaluate_s": round(seconds - parse_s, 3),
                "rules": len(result.rules),
                "level": args.level,
                "unusable_targets": errors,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
