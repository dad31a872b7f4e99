"""A linearizability checker: the Wing & Gong search with Lowe's memoization, as porcupine implements it.

A history is a list of operations, each with the time its call left the client and the time its answer came
back. An operation whose answer never came (a timeout, a 5xx, a dropped connection) is *indeterminate*: it may
have taken effect at any moment after its call, or never. The checker searches for a total order of the
operations that respects real time (a before b whenever a returned before b was called) and that a sequential
model accepts; indeterminate operations may be placed anywhere after their call or left out.

The search (Lowe, "Testing for linearizability", 2017; porcupine's checkSingle):
- calls and returns are laid out in time order in a doubly linked list;
- walking from the head, an operation whose call is seen before any pending return may be linearized next; it
  is tried against the model and, if accepted, lifted out of the list (dancing links) and the walk restarts;
- meeting a return means the operation it belongs to cannot be delayed further: backtrack;
- (set of linearized operations, model state) pairs already explored are cached: reaching one again
  cannot lead anywhere new. That cache turns the exponential search into one that is fast on real histories.

Models are nondeterministic where the real system may legally answer in more than one way, so the search
carries a *set* of model states (porcupine's NondeterministicModel powerset construction).

Histories are partitioned per key (per job, per filament) first: linearizability is compositional (Herlihy &
Wing, "locality"), so each key is checked alone, which keeps the search small.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol


class _Unknown:
    """The output of an operation whose answer never arrived."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True, slots=True)
class Operation:
    """One client operation. `ret` None means indeterminate (its `output` is then UNKNOWN)."""

    client: int
    input: Any
    call: float
    ret: float | None = None
    output: Any = UNKNOWN

    @property
    def indeterminate(self) -> bool:
        return self.ret is None


class Model(Protocol):
    """A sequential specification, one instance per kind of key."""

    def key(self, input: Any) -> Hashable | None:
        """The partition an operation belongs to (None: not checked by this model)."""

    def init(self, key: Hashable) -> Hashable:
        """The state of a key before any operation."""

    def outcomes(self, state: Hashable, input: Any) -> Iterable[tuple[Any, Hashable]]:
        """Every (output, next state) the operation may legally produce from `state`."""

    def is_read_only(self, input: Any, output: Any) -> bool:
        """True when an operation with this output certainly changed nothing (a read, a refusal)."""


class Verdict(Enum):
    OK = "ok"
    ILLEGAL = "illegal"
    UNKNOWN = "unknown"  # the budget ran out before the search finished


@dataclass(frozen=True, slots=True)
class PartitionResult:
    key: Hashable
    verdict: Verdict
    operations: int
    steps: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: Verdict
    partitions: tuple[PartitionResult, ...] = ()

    @property
    def illegal_keys(self) -> list[Hashable]:
        return [p.key for p in self.partitions if p.verdict is Verdict.ILLEGAL]

    @property
    def unknown_keys(self) -> list[Hashable]:
        return [p.key for p in self.partitions if p.verdict is Verdict.UNKNOWN]


@dataclass(slots=True)
class Budget:
    """Bounds one check. Exhausting it yields Verdict.UNKNOWN instead of hanging."""

    max_steps: int = 2_000_000  # per partition
    seconds: float = 60.0  # for the whole check
    deadline: float = field(default=0.0, init=False)

    def start(self) -> Budget:
        self.deadline = time.monotonic() + self.seconds
        return self


def partition(model: Model, ops: Iterable[Operation]) -> dict[Hashable, list[Operation]]:
    parts: dict[Hashable, list[Operation]] = {}
    for op in ops:
        key = model.key(op.input)
        if key is not None:
            parts.setdefault(key, []).append(op)
    return parts


def check(model: Model, ops: Iterable[Operation], budget: Budget | None = None) -> CheckResult:
    """Checks every partition of `ops` under `model`."""
    budget = (budget or Budget()).start()
    results = []
    for key, part in sorted(partition(model, ops).items(), key=lambda kv: repr(kv[0])):
        verdict, steps = check_partition(model, key, part, budget)
        results.append(PartitionResult(key, verdict, len(part), steps))
    verdicts = {r.verdict for r in results}
    if Verdict.ILLEGAL in verdicts:
        overall = Verdict.ILLEGAL
    elif Verdict.UNKNOWN in verdicts:
        overall = Verdict.UNKNOWN
    else:
        overall = Verdict.OK
    return CheckResult(overall, tuple(results))


_END = -1


def check_partition(
    model: Model, key: Hashable, ops: Sequence[Operation], budget: Budget | None = None
) -> tuple[Verdict, int]:
    """The search for one key. Returns the verdict and the number of search steps taken."""
    if budget is None:
        budget = Budget().start()
    elif budget.deadline == 0.0:
        budget.start()
    # an indeterminate read constrains nothing: it may simply not have happened
    ops = [op for op in ops if not (op.indeterminate and model.is_read_only(op.input, UNKNOWN))]
    for op in ops:
        if op.ret is not None and op.ret < op.call:
            raise ValueError(f"operation returns before its call: {op}")

    # nodes: 0 is the head sentinel; each op has a call node and, if determinate, a return node
    events: list[tuple[float, int, int]] = []  # (time, 0 call / 1 return, op index)
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        if op.ret is not None:
            events.append((op.ret, 1, i))
    # equal times: calls before returns, so touching operations count as concurrent (the lenient reading)
    events.sort(key=lambda e: (e[0], e[1]))
    size = len(events) + 1
    nxt = [_END] * size
    prv = [0] * size
    node_op = [0] * size
    is_call = [False] * size
    match = [0] * size  # call node -> its return node (0: indeterminate, none)
    call_node = [0] * len(ops)
    for position, (_, kind, i) in enumerate(events, start=1):
        node_op[position] = i
        is_call[position] = kind == 0
        if kind == 0:
            call_node[i] = position
        else:
            match[call_node[i]] = position
        prv[position] = position - 1
        nxt[position - 1] = position

    def lift(node: int) -> None:
        after = nxt[node]
        nxt[prv[node]] = after
        if after != _END:
            prv[after] = prv[node]
        ret = match[node]
        if ret:
            after = nxt[ret]
            nxt[prv[ret]] = after
            if after != _END:
                prv[after] = prv[ret]

    def unlift(node: int) -> None:  # the exact reverse of lift
        ret = match[node]
        if ret:
            nxt[prv[ret]] = ret
            if nxt[ret] != _END:
                prv[nxt[ret]] = ret
        nxt[prv[node]] = node
        if nxt[node] != _END:
            prv[nxt[node]] = node

    step_memo: dict[tuple[int, frozenset[Hashable]], frozenset[Hashable]] = {}

    def step(i: int, states: frozenset[Hashable]) -> frozenset[Hashable]:
        memo_key = (i, states)
        found = step_memo.get(memo_key)
        if found is None:
            op = ops[i]
            nexts = set()
            for state in states:
                for output, after in model.outcomes(state, op.input):
                    if op.output is UNKNOWN or output == op.output:
                        nexts.add(after)
            found = step_memo[memo_key] = frozenset(nexts)
        return found

    cache: set[tuple[int, frozenset[Hashable]]] = set()
    calls: list[tuple[int, frozenset[Hashable]]] = []
    states: frozenset[Hashable] = frozenset([model.init(key)])
    linearized = 0
    pending = sum(1 for op in ops if op.ret is not None)  # determinate operations not yet linearized
    entry = nxt[0]
    steps = 0
    while pending:
        steps += 1
        if steps > budget.max_steps or (steps & 1023 == 0 and time.monotonic() > budget.deadline):
            return Verdict.UNKNOWN, steps
        if entry != _END and is_call[entry]:
            i = node_op[entry]
            after = step(i, states)
            if after:
                bits = linearized | (1 << i)
                seen = (bits, after)
                if seen not in cache:
                    cache.add(seen)
                    calls.append((entry, states))
                    states, linearized = after, bits
                    lift(entry)
                    if match[entry]:
                        pending -= 1
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            # a pending return (or the end): the newest choice was wrong, undo it
            if not calls:
                return Verdict.ILLEGAL, steps
            entry, states = calls.pop()
            linearized &= ~(1 << node_op[entry])
            unlift(entry)
            if match[entry]:
                pending += 1
            entry = nxt[entry]
    return Verdict.OK, steps


def prefix(ops: Sequence[Operation], cut: float) -> list[Operation]:
    """The history as it stood at time `cut`: later calls vanish, answers after `cut` become unknown."""
    out = []
    for op in ops:
        if op.call > cut:
            continue
        if op.ret is not None and op.ret > cut:
            op = replace(op, ret=None, output=UNKNOWN)
        out.append(op)
    return out


def minimize(
    model: Model, key: Hashable, ops: Sequence[Operation], budget: Budget | None = None
) -> list[Operation]:
    """The smallest failing slice of one illegal partition we can find cheaply.

    Only sound reductions are made, so the slice is itself a proof of the violation:
    - the shortest time prefix that is already illegal (linearizability is prefix-closed, so the verdict is
      monotone in the cut and a binary search finds it);
    - then read-only operations are dropped one by one while the rest stays illegal (dropping an operation
      that changed nothing cannot turn a linearizable history into an illegal one).
    """
    budget = budget or Budget(max_steps=200_000, seconds=20.0)
    budget.start()

    def illegal(candidate: Sequence[Operation]) -> bool:
        return check_partition(model, key, candidate, budget)[0] is Verdict.ILLEGAL

    current = list(ops)
    if not illegal(current):
        return current
    cuts = sorted({op.ret for op in current if op.ret is not None})
    low, high = 0, len(cuts) - 1  # invariant: prefix(cuts[high]) is illegal
    while low < high:
        middle = (low + high) // 2
        if illegal(prefix(current, cuts[middle])):
            high = middle
        else:
            low = middle + 1
    if cuts:
        # an operation cut off by the prefix is indeterminate; if it is a read it no longer says anything
        current = [op for op in prefix(current, cuts[high])
                   if not (op.ret is None and model.is_read_only(op.input, UNKNOWN))]
    for op in sorted(current, key=lambda o: o.call, reverse=True):
        if time.monotonic() > budget.deadline:
            break
        if op.ret is not None and model.is_read_only(op.input, op.output):
            trial = [o for o in current if o is not op]
            if illegal(trial):
                current = trial
    return sorted(current, key=lambda o: o.call)


def format_ops(ops: Sequence[Operation], origin: float | None = None, scale: float = 1e-9) -> str:
    """One line per operation, times relative to the first call (in seconds for monotonic_ns clocks)."""
    if not ops:
        return "  (no operations)"
    if origin is None:
        origin = min(op.call for op in ops)
    lines = []
    for op in sorted(ops, key=lambda o: o.call):
        start = (op.call - origin) * scale
        end = "    ...   " if op.ret is None else f"{(op.ret - origin) * scale:10.4f}"
        lines.append(f"  c{op.client:<3} {start:10.4f} .. {end}  {op.input!r} -> {op.output!r}")
    return "\n".join(lines)
