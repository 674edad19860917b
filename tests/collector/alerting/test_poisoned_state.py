"""Alert evaluation over stored state that cannot be read (a report stored before every number was
bounded, a device record written by an older version): the bad records are skipped and counted, and
every other host and device of the province still raises its alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update

from canhgac_collector.store.models import Alert, Device
from tests.collector.alerting.conftest import T0, Store, poll

S = dt.timedelta(seconds=1)
POISON = [
    b'{"metrics": {"memory": {"percent": 1' + b"0" * 400 + b"}}}",  # infinity for orjson
    b"\xff\xfe not json",
    b'{"metrics": {"filesystems": [1, 2, 3]}}',  # wrong shapes
    b'{"probes": "x", "metrics": {"sensors": {"temperatures": 7}}}',
]


def test_poisoned_hosts_and_devices_do_not_blind_alerting(
    make_store: Callable[..., Store], db_url: str
) -> None:
    store = make_store(db_url)
    for i, report in enumerate(POISON):
        store.host(f"bad-{i}", "XA-A", "up", T0, report)
    store.host("xa-a-pc1", "XA-A", "up", T0)
    store.host("xa-b-pc1", "XA-B", "up", T0)
    store.host("xa-b-pc2", "XA-B", "up", T0)
    store.polls(poll("sw-xa-a", "up", T0), poll("sw-xa-b", "up", T0))
    with store.sessions.begin() as session:
        session.execute(
            update(Device).where(Device.name == "sw-xa-a").values(resources={"temperatures_c": 7})
        )
    # The canary: a PC of commune B stops reporting.
    store.host("xa-b-pc2", "XA-B", "down", T0 + 5 * S)
    res = store.engine.evaluate(T0 + 10 * S)
    assert res.fired >= 1
    with store.sessions() as session:
        fired = [(a.rule, a.subject_id) for a in session.scalars(select(Alert))]
    assert ("host_down", "xa-b-pc2") in fired
    assert store.engine.confined["host"] == len(POISON)
    assert store.engine.confined["device"] == 1
    # Again: the same records are skipped again, nothing else changes, nothing raises.
    store.engine.evaluate(T0 + 20 * S)
    assert store.engine.confined["host"] == 2 * len(POISON)
