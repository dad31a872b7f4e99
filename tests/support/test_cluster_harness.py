from __future__ import annotations

import pytest

from tests.support.cluster import WaitTimeout, free_ports, wait_for


def test_wait_for_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", "ready"])
    assert wait_for(lambda: next(values), timeout=5, interval=0) == "ready"


def test_wait_for_keeps_polling_through_exceptions_and_reports_the_last() -> None:
    def refuse() -> bool:
        raise ConnectionRefusedError("not up yet")

    with pytest.raises(WaitTimeout, match="not up yet"):
        wait_for(refuse, timeout=0.05, interval=0.01)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
