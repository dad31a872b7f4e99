"""What must hold after every scenario, once the cluster is healed and has converged.

- every node holds the same jobs and filaments (compared field by field), with no duplicate ids;
- every acknowledged job creation is present on every node, every acknowledged final status is kept;
- the filament ledger is exact on every node: remaining = initial - used of its jobs (active ones included:
  reported usage is consumed at once), reserved = summed weight of its Queued/Running/Paused jobs less what
  they used, 0 <= reserved <= remaining <= total, available = remaining - reserved;
- each spool's ledger entries chain exactly to its grams, are the same on every node, and account for every
  job: one reserve of its weight, consumes summing to what it used, and a release of the rest once it ended;
- the whole history, with each node's final copy appended as reads, is linearizable under both models.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.faults.history import History
from tests.faults.linearizability import Budget, CheckResult, Verdict, check, format_ops, minimize
from tests.faults.models import (
    ACTIVE,
    CreateJob,
    FilamentModel,
    JobModel,
    JobView,
    ReadJob,
    ReadSnapshot,
    Refused,
    SetStatus,
    Snapshot,
    drop_unapplied,
)
from tests.faults.workload import Farm, filament_view, job_view
from tests.support.cluster import Cluster, wait_for

FINAL_CLIENT = 1000  # final reads are recorded as clients 1000 + node number


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    linearizability: list[tuple[str, CheckResult]] = field(default_factory=list)
    slices: list[str] = field(default_factory=list)  # the smallest failing slices, formatted

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.verdict is Verdict.OK for _, r in self.linearizability)

    def summary(self) -> str:
        parts = []
        for name, result in self.linearizability:
            part = f"{name}: {result.verdict.value} ({len(result.partitions)} keys"
            if result.illegal_keys:
                part += f", illegal {result.illegal_keys[:3]}"
            if result.unknown_keys:
                part += f", out of budget {result.unknown_keys[:3]}"
            parts.append(part + ")")
        return "; ".join(parts)


def converge(cluster: Cluster, timeout: float = 60.0) -> None:
    """A leader, every node a voter following it, every node's applied index equal to the leader's commit."""
    cluster.wait_converged(timeout)

    def same_applied() -> bool:
        statuses = [node.status() for node in cluster.nodes]
        if any(s is None for s in statuses):
            return False
        return len({s["applied_index"] for s in statuses if s}) == 1

    wait_for(same_applied, timeout, what="every node to apply the same index")


Copies = dict[str, tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]]  # node -> (jobs, filaments)


def final_copies(
    cluster: Cluster, history: History, farm: Farm, job_ids: list[str], findings: Findings
) -> Copies:
    """Each node's jobs and filaments (stale reads of its own copy), also appended to the history as reads."""
    copies = {}
    for number, node in enumerate(cluster.nodes):
        client = FINAL_CLIENT + number
        call = history.clock()
        jobs_reply = node.get("/api/v1/print_jobs?consistency=stale", timeout=30)
        filaments_reply = node.get("/api/v1/filaments?consistency=stale", timeout=30)
        ret = history.clock()
        assert jobs_reply.status == 200 and filaments_reply.status == 200, (jobs_reply, filaments_reply)
        jobs_list, filaments_list = jobs_reply.json(), filaments_reply.json()
        for what, items, key, reply in (("job", jobs_list, "job_id", jobs_reply),
                                        ("filament", filaments_list, "id", filaments_reply)):
            duplicates = [k for k, n in Counter(item[key] for item in items).items() if n > 1]
            if duplicates:
                findings.problems.append(f"{node.node_id}: duplicate {what} ids {duplicates[:10]}")
            total = reply.headers.get("x-total-count")
            if total is not None and int(total) != len(items):
                findings.problems.append(f"{node.node_id}: X-Total-Count {total} but {len(items)} {what}s")
        jobs = {j["job_id"]: j for j in jobs_list}
        filaments = {f["id"]: f for f in filaments_list}
        copies[node.node_id] = (jobs, filaments)
        anomalies: list[str] = []

        def view(job_id: str, jobs: dict[str, dict[str, Any]] = jobs) -> JobView | Refused:
            return job_view(jobs[job_id]) if job_id in jobs else Refused("not_found")

        pairs = job_ids_with_filaments(history, job_ids)
        for job_id, fid in pairs:  # for the per-job model
            record = history.call(client, ReadJob(job_id, fid))
            record.call = call
            history.returned(record, view(job_id))
            record.ret = ret
        for fid in farm.filaments:  # for the per-filament model: one atomic read of the spool and its jobs
            mine = tuple(job_id for job_id, f in pairs if f == fid)
            fil = filament_view(filaments[fid], anomalies) if fid in filaments else Refused("not_found")
            record = history.call(client, ReadSnapshot(fid, mine))
            record.call = call
            history.returned(record, Snapshot(fil, tuple(view(job_id) for job_id in mine)))
            record.ret = ret
        findings.problems += [f"{node.node_id}: {a}" for a in anomalies]
    return copies


def job_ids_with_filaments(history: History, job_ids: list[str]) -> list[tuple[str, str]]:
    filament_of = {r.input.job_id: r.input.filament_id for r in history.records
                   if isinstance(r.input, CreateJob)}
    return [(job_id, filament_of[job_id]) for job_id in job_ids if job_id in filament_of]


def compare_copies(copies: Copies, findings: Findings) -> None:
    names = sorted(copies)
    first = names[0]
    for other in names[1:]:
        for index, what in ((0, "jobs"), (1, "filaments")):
            a, b = copies[first][index], copies[other][index]
            if a != b:
                only_a = sorted(set(a) - set(b))[:5]
                only_b = sorted(set(b) - set(a))[:5]
                differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])[:5]
                findings.problems.append(
                    f"{what} differ between {first} and {other}: only on {first} {only_a}, only on {other} "
                    f"{only_b}, different {[(k, a[k], b[k]) for k in differ]}"
                )


def check_acknowledged(history: History, copies: Copies, findings: Findings) -> None:
    """Acknowledged creations exist everywhere; acknowledged terminal statuses are what every node shows."""
    for record in history.records:
        if record.ret is None or record.client >= FINAL_CLIENT:
            continue
        op, output = record.input, record.output
        for node_id, (jobs, _) in copies.items():
            if isinstance(op, CreateJob) and isinstance(output, JobView) and op.job_id not in jobs:
                findings.problems.append(f"acknowledged job {op.job_id} is missing on {node_id}")
            if isinstance(op, SetStatus) and isinstance(output, JobView) and output.status not in ACTIVE:
                shown = jobs.get(op.job_id, {}).get("status")
                if shown != output.status:
                    findings.problems.append(
                        f"job {op.job_id} was acknowledged {output.status} but {node_id} shows {shown}"
                    )


def check_ledger(farm: Farm, copies: Copies, findings: Findings) -> None:
    for node_id, (jobs, filaments) in copies.items():
        for fid in farm.filaments:
            fil = filaments.get(fid)
            if fil is None:
                findings.problems.append(f"{node_id}: filament {fid} is missing")
                continue
            mine = [j for j in jobs.values() if j["filament_id"] == fid]
            used = sum(j.get("used_weight_in_grams") or 0 for j in mine)
            reserved = sum(
                j["print_weight_in_grams"] - (j.get("used_weight_in_grams") or 0)
                for j in mine
                if j["status"] in ACTIVE
            )
            expect = {"remaining_weight_in_grams": farm.initial[fid] - used,
                      "reserved_weight_in_grams": reserved,
                      "available_weight_in_grams": farm.initial[fid] - used - reserved}
            shown = {k: fil[k] for k in expect}
            if shown != expect:
                findings.problems.append(f"{node_id}: ledger of {fid} is {shown}, its jobs say {expect}")
            if not 0 <= fil["reserved_weight_in_grams"] <= fil["remaining_weight_in_grams"] \
                    <= fil["total_weight_in_grams"]:
                findings.problems.append(f"{node_id}: filament {fid} out of bounds: {fil}")


def check_ledger_entries(cluster: Cluster, farm: Farm, copies: Copies, findings: Findings) -> None:
    """Every node's ledger of every spool: the same entries, chained exactly, one account per job."""
    for fid in farm.filaments:
        seen: dict[str, list[dict[str, Any]]] = {}
        for node in cluster.nodes:
            reply = node.get(f"/api/v1/filaments/{fid}/ledger?consistency=stale", timeout=30)
            if reply.status != 200:
                findings.problems.append(f"{node.node_id}: ledger of {fid} answered {reply.status}")
                continue
            entries = seen[node.node_id] = reply.json()
            jobs, filaments = copies[node.node_id]
            problems = _ledger_problems(fid, entries, jobs, filaments)
            findings.problems += [f"{node.node_id}: {problem}" for problem in problems]
        if len({repr(entries) for entries in seen.values()}) > 1:
            findings.problems.append(f"the ledger of {fid} differs between nodes")


def _ledger_problems(
    fid: str, entries: list[dict[str, Any]], jobs: dict[str, dict[str, Any]], filaments: dict[str, Any]
) -> list[str]:
    problems = []
    remaining = reserved = 0
    per_job: dict[str, dict[str, int]] = {}
    for position, entry in enumerate(entries):
        remaining += entry["remaining_delta"]
        reserved += entry["reserved_delta"]
        chained = (entry["remaining_after"], entry["reserved_after"]) == (remaining, reserved)
        if not chained or not 0 <= reserved <= remaining:
            problems.append(f"ledger of {fid} breaks its chain at entry {position}: {entry}")
            break
        if entry["job_id"] is not None:
            account = per_job.setdefault(entry["job_id"], {"reserve": 0, "consume": 0, "release": 0})
            account[entry["kind"]] += abs(entry["reserved_delta"])
    fil = filaments.get(fid)
    shown = None if fil is None else (fil["remaining_weight_in_grams"], fil["reserved_weight_in_grams"])
    if shown is not None and (remaining, reserved) != shown:
        problems.append(f"ledger of {fid} ends at {(remaining, reserved)}, the spool shows {shown}")
    for job in (j for j in jobs.values() if j["filament_id"] == fid):
        used = job.get("used_weight_in_grams") or 0
        ended = job["status"] not in ACTIVE
        expected = {
            "reserve": job["print_weight_in_grams"],
            "consume": used,
            "release": job["print_weight_in_grams"] - used if ended else 0,
        }
        account = per_job.get(job["job_id"], dict.fromkeys(expected, 0))
        if account != expected:
            problems.append(f"ledger of {fid} accounts job {job['job_id']} as {account}, not {expected}")
    return problems


def check_history(history: History, farm: Farm, findings: Findings, seconds: float = 60.0) -> None:
    everything = history.operations()
    final: dict[str, set[Any]] = {}
    for op in everything:
        if op.client >= FINAL_CLIENT and isinstance(op.input, ReadJob):
            final.setdefault(op.input.job_id, set()).add(op.output)
    agreed = {job_id: views.pop() for job_id, views in final.items() if len(views) == 1}
    everything = drop_unapplied(everything, agreed)
    # the final per-job reads all overlap: the filament model reads them as one snapshot instead
    per_filament = [op for op in everything
                    if not (op.client >= FINAL_CLIENT and isinstance(op.input, ReadJob))]
    models = [("per-job", JobModel(), everything),
              ("per-filament", FilamentModel(farm.all_printers), per_filament)]
    for name, model, ops in models:
        result = check(model, ops, Budget(seconds=seconds))
        findings.linearizability.append((name, result))
        for key in result.illegal_keys[:2]:
            part = [op for op in ops if model.key(op.input) == key]
            small = minimize(model, key, part)
            findings.slices.append(
                f"{name} model, key {key}: {len(part)} operations, smallest failing slice ({len(small)}):\n"
                + format_ops(small, origin=history.origin)
            )


def check_all(cluster: Cluster, history: History, farm: Farm, job_ids: list[str]) -> Findings:
    findings = Findings()
    converge(cluster)
    copies = final_copies(cluster, history, farm, job_ids, findings)
    compare_copies(copies, findings)
    check_acknowledged(history, copies, findings)
    check_ledger(farm, copies, findings)
    check_ledger_entries(cluster, farm, copies, findings)
    check_history(history, farm, findings)
    return findings
