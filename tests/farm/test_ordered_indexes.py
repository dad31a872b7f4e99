"""Pages and filters come from ordered indexes kept up to date on apply: under random writes their answers
equal a brute-force reference (every object, sorted, filtered, sliced), before and after a restore."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from farm.commands import (
    ClearBed,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    RetryJob,
    SetJobStatus,
)
from farm.lifecycle import STATUSES
from farm.queries import ListFilaments, ListJobs, ListPrinters
from farm.results import Ok
from farm.state import FarmState
from tests.farm.harness import Farm

OWNERS = ["a", "b", "c", "d"]
JOBS = ["j1", "j2", "j3", "j4", "j5", "j6"]
owners, jobs = st.sampled_from(OWNERS), st.sampled_from(JOBS)
statuses = st.sampled_from(STATUSES)

# The farm starts with every printer and spool, so most commands meet existing objects and succeed; status
# changes come often (they move jobs between the status indexes), deletes and re-creates seldom.
status_change = st.builds(SetJobStatus, jobs, statuses)
rare = st.one_of(
    st.builds(RetryJob, jobs, jobs),
    st.builds(ClearBed, owners),
    st.builds(CreatePrinter, owners, st.just("HP"), st.just("L12")),
    st.builds(DeletePrinter, owners),
    st.builds(CreateFilament, owners, st.just("PLA"), st.just("red"), st.just(1000), st.just(1000)),
    st.builds(DeleteFilament, owners),
)
commands = st.one_of(
    st.builds(CreateJob, jobs, owners, owners, st.integers(1, 50)),
    status_change,
    status_change,
    status_change,
    status_change,
    rare,
)
queries = st.one_of(
    st.builds(ListPrinters, st.none() | st.integers(0, 5), st.integers(0, 6)),
    st.builds(ListFilaments, st.none() | st.integers(0, 5), st.integers(0, 6)),
    st.builds(
        ListJobs,
        st.none() | st.sampled_from(STATUSES),
        st.none() | owners,
        st.none() | owners,
        st.none() | st.integers(0, 5),
        st.integers(0, 6),
    ),
)


def brute_force(farm: Farm, query: ListPrinters | ListFilaments | ListJobs) -> tuple[list[str], int]:
    """From the tables themselves (no index): every object, filtered, sorted and sliced here."""
    store = farm.state._store
    if isinstance(query, ListJobs):
        matching = [
            job.job_id
            for job in store.jobs.values()
            if (query.status is None or job.status == query.status)
            and (query.printer_id is None or job.printer_id == query.printer_id)
            and (query.filament_id is None or job.filament_id == query.filament_id)
        ]
    else:
        matching = list(store.printers if isinstance(query, ListPrinters) else store.filaments)
    matching.sort()
    end = None if query.limit is None else query.offset + query.limit
    return matching[query.offset : end], len(matching)


def answer(farm: Farm, query: ListPrinters | ListFilaments | ListJobs) -> tuple[list[str], int]:
    outcome = farm.ask(query)
    assert isinstance(outcome, Ok)
    key = "job_id" if isinstance(query, ListJobs) else "id"
    return [item[key] for item in outcome.value.items], outcome.value.total


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(commands, max_size=8), queries), min_size=1, max_size=15))
def test_pages_and_filters_equal_a_brute_force_reference_under_random_writes(steps) -> None:
    farm = Farm()
    for owner in OWNERS:
        farm.ok(CreatePrinter(owner, "HP", "L12"))
        farm.ok(CreateFilament(owner, "PLA", "red", 1000, 1000))
    for batch, query in steps:
        for command in batch:
            farm.propose(command)
        expected = brute_force(farm, query)
        assert answer(farm, query) == expected
        restored = Farm(FarmState.restore(farm.state.snapshot()))
        assert answer(restored, query) == expected  # the bulk-built indexes agree with the incremental ones
