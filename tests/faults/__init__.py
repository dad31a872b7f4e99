"""Jepsen-style fault suite: nemeses, recorded histories, and our own linearizability checker.

    linearizability.py  Wing-Gong/Lowe search with memoization (porcupine's algorithm), per-key partitions
    models.py           sequential specifications: per job (status table), per filament (the ledger)
    history.py          the History recorder and a keep-alive asyncio HTTP client
    proxy.py            userspace TCP proxies on 127.0.0.1: cut, hold, one-way drop, delay; one per link
    workload.py         concurrent clients driving jobs and filaments, every operation recorded
    nemesis.py          kill -9, SIGSTOP/SIGCONT, partitions, flapping links, a full tmpfs (ENOSPC)
    checks.py           after healing: replicas equal, nothing acknowledged lost, ledger exact, linearizable
    runner.py           scenarios: cluster + workload + nemesis + checks, with a failure report
    test_scenarios.py   the bounded run in `make test` (pytest -m faults selects it)
    soak.py             python -m tests.faults.soak --duration 600 --seed N
"""
