"""Serve the lab by hand: ``python -m canhgac_collector.lab --devices 40 --work-dir /tmp/lab``.

Generates a province (and optionally adds the snmpsim-data switch/router recordings), serves it with
snmpsim on loopback, prints one JSON line per device (name, site, role, community, host, port) and
serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from canhgac_collector.lab.province import generate_province
from canhgac_collector.lab.snmpsim import SnmpsimError, SnmpsimFleet, snmpsim_data_recordings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m canhgac_collector.lab", description=__doc__)
    parser.add_argument("--devices", type=int, default=12, help="generated switches (0: none)")
    parser.add_argument("--ports", type=int, choices=(24, 48), default=48)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sites", default="", help="comma-separated site codes; the first is the data center"
    )
    parser.add_argument(
        "--snmpsim-data", action="store_true", help="also serve snmpsim-data switches/routers"
    )
    parser.add_argument("--max-bytes", type=int, default=3_000_000, help="skip bigger snmpsim-data files")
    parser.add_argument("--per-process", type=int, default=40)
    parser.add_argument("--work-dir", type=Path, default=Path("lab-data"))
    args = parser.parse_args(argv)

    sites = [s for s in args.sites.split(",") if s] or None
    served: dict[str, Path] = {}
    rows: list[dict[str, object]] = []
    if args.devices:
        for d in generate_province(
            args.work_dir / "recordings", sites=sites, devices=args.devices, ports=args.ports, seed=args.seed
        ):
            served[d.community] = d.recording
            rows.append({"name": d.name, "site": d.site, "role": d.role, "community": d.community})
    if args.snmpsim_data:
        for community, path in snmpsim_data_recordings(max_bytes=args.max_bytes).items():
            served[community] = path
            rows.append(
                {"name": community.rsplit("/", 1)[1], "site": None, "role": None, "community": community}
            )
    if not served:
        parser.error("nothing to serve: pass --devices N and/or --snmpsim-data")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with SnmpsimFleet(served, args.work_dir / "snmpsim", per_process=args.per_process) as fleet:
            for row in rows:
                host, port = fleet.endpoint(str(row["community"]))
                sys.stdout.write(json.dumps({**row, "host": host, "port": port}) + "\n")
            sys.stdout.flush()
            stop.wait()
    except SnmpsimError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
