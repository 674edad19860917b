"""WindowsHost: the PowerShell bundle's JSON, and the host refuses to run off Windows."""

from __future__ import annotations

import json
import sys

import pytest

from canhgac_agent.facts.common import parse_powershell_bundle
from canhgac_agent.facts.windows import WindowsHost
from tests.agent.facts.samples import AV_PRODUCTS, DEFENDER, LOCAL_USERS_PS51


def test_powershell_bundle() -> None:
    text = json.dumps(
        {
            "defender": DEFENDER,
            "av": AV_PRODUCTS,
            "users": LOCAL_USERS_PS51,
            "wu": None,
            "errors": {"wu": "COM"},
        }
    )
    bundle = parse_powershell_bundle("WARNING: something\r\n" + text)
    assert bundle["errors"] == {"wu": "COM"}
    with pytest.raises(ValueError, match="JSON"):
        parse_powershell_bundle("powershell.exe : The term is not recognized")
    with pytest.raises(ValueError, match="JSON"):
        parse_powershell_bundle("[1, 2]")


def test_windows_provider_refuses_to_run_elsewhere() -> None:
    if sys.platform == "win32":
        pytest.skip("on Windows the provider is meant to run")
    with pytest.raises(RuntimeError, match="only on Windows"):
        WindowsHost()
