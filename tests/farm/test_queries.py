from __future__ import annotations

import pytest

from farm.commands import CreateFilament, CreatePrinter, DeletePrinter, SetJobStatus
from farm.queries import GetJob, ListFilaments, ListJobs, ListPrinters
from farm.results import Ok, Page
from tests.farm.harness import Farm


def ids(outcome, key: str = "id") -> list[str]:
    assert isinstance(outcome, Ok) and isinstance(outcome.value, Page)
    return [item[key] for item in outcome.value.items]


def test_lists_are_ordered_by_id_whatever_the_insertion_order() -> None:
    farm = Farm()
    for printer_id in ("p3", "p1", "p2", "P0"):
        farm.ok(CreatePrinter(printer_id, "HP", "L12"))
    assert ids(farm.ask(ListPrinters())) == ["P0", "p1", "p2", "p3"]
    farm.ok(DeletePrinter("p1"))
    farm.ok(CreatePrinter("p0", "HP", "L12"))
    assert ids(farm.ask(ListPrinters())) == ["P0", "p0", "p2", "p3"]


def test_limit_offset_and_total() -> None:
    farm = Farm()
    for n in range(5):
        farm.ok(CreateFilament(f"f{n}", "PLA", "Red", 10, 10))
    outcome = farm.ask(ListFilaments(limit=2, offset=1))
    assert ids(outcome) == ["f1", "f2"] and outcome.value.total == 5
    assert ids(farm.ask(ListFilaments(offset=4))) == ["f4"]
    assert ids(farm.ask(ListFilaments(limit=0))) == [] and farm.ask(ListFilaments(limit=0)).value.total == 5
    assert ids(farm.ask(ListFilaments(offset=9))) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (ListPrinters(limit=-1), "limit"),
        (ListPrinters(offset=-1), "offset"),
        (ListFilaments(limit=1.5), "limit"),
        (ListJobs(offset=True), "offset"),
        (ListJobs(status="running"), "status"),
        (ListJobs(printer_id=3), "printer_id"),
    ],
)
def test_bad_query_parameters_are_invalid_field(query, field: str) -> None:
    outcome = Farm().ask(query)
    assert (outcome.code, outcome.field) == ("invalid_field", field)


def test_job_filters_combine_and_total_counts_matches() -> None:
    farm = Farm().seed(grams=1000)
    farm.ok(CreatePrinter("printer2", "Prusa", "MK4"))
    farm.ok(CreateFilament("f2", "PLA", "Red", 1000, 1000))
    farm.queue("j3")
    farm.queue("j1", printer="printer2")
    farm.queue("j2", filament="f2")
    farm.queue("j4", printer="printer2", filament="f2")
    farm.ok(SetJobStatus("j1", "Running"))
    assert ids(farm.ask(ListJobs()), "job_id") == ["j1", "j2", "j3", "j4"]
    assert ids(farm.ask(ListJobs(status="Queued")), "job_id") == ["j2", "j3", "j4"]
    assert ids(farm.ask(ListJobs(printer_id="printer2")), "job_id") == ["j1", "j4"]
    assert ids(farm.ask(ListJobs(status="Queued", filament_id="f2")), "job_id") == ["j2", "j4"]
    page = farm.ask(ListJobs(status="Queued", limit=1, offset=1))
    assert ids(page, "job_id") == ["j3"] and page.value.total == 3
    assert ids(farm.ask(ListJobs(printer_id="ghost")), "job_id") == []
    assert farm.ask(GetJob("ghost")).code == "not_found"


def test_queries_do_not_change_the_state() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    before = farm.state.snapshot()
    farm.ask(ListJobs(status="Queued"))
    farm.ask(ListPrinters(limit=1))
    assert farm.state.snapshot() == before


def test_unknown_queries_are_refused() -> None:
    assert Farm().ask("ListEverything").code == "malformed_query"  # type: ignore[arg-type]
