"""Both Redis managers on a real Redis Cluster (three masters, three replicas, on loopback):
certified there, and through a master's failure during a workload.

Every test here shares one cluster (``xdist_group``), and the failover test runs last: it
kills a master, and leaves the cluster healthy again with the old master back as a replica.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from typing import Any

import pytest
import redis
from conftest import RedisCluster
from memspec import IMemoryInput, IWorkingMemory, MemoryBackendError
from memspec.conformance import Target, certify
from memspec.reference import AsyncRedisWorkingMemoryManager, RedisWorkingMemoryManager
from memspec.reference.redis import isolated_async_redis_manager, isolated_redis_manager

pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("redis-cluster")]


def put(cid: str, *texts: str) -> IMemoryInput:
    data = [IWorkingMemory(working_memory=t) for t in texts] or None
    return IMemoryInput(conversation_id=cid, data=data)


@pytest.mark.requirement("MM-DUR-001")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_certified_on_the_cluster(redis_cluster: RedisCluster, is_async: bool) -> None:
    isolated = isolated_async_redis_manager if is_async else isolated_redis_manager

    def factory(ttl: float | None = 43200) -> Any:
        return isolated(ttl=ttl, storage_url=redis_cluster.url, cluster=True)

    factory.memspec_reopen = isolated.memspec_reopen  # type: ignore[attr-defined]
    # Quick depth, within the test-time budget: the sync manager on core and concurrency,
    # the async one on its own profile (core checks the same code and the same commands).
    profiles = ["async", "persistence"] if is_async else ["core", "concurrency", "persistence"]
    report = certify(
        Target.from_factory(factory, name="redis-cluster"),
        profiles=profiles,
        depth="quick",
        seed=5,
        shrink=False,
    )
    assert [p.value for p in report.profiles] == profiles
    assert report.conformant, [(r.message, r.reproduction) for r in report.failures]


def test_keys_spread_over_every_master_one_command_each(redis_cluster: RedisCluster) -> None:
    with RedisWorkingMemoryManager(
        redis_cluster.url, cluster=True, namespace="spread", ttl=60
    ) as manager:
        for n in range(60):
            manager.store(put(f"conversation-{n}", f"v{n}"))
            manager.update(put(f"conversation-{n}", f"w{n}"))
        masters = [port for port, role in redis_cluster.roles().items() if role == "master"]
        per_master = {
            port: int(redis.Redis(port=port).dbsize()) for port in masters
        }  # the namespace is the only writer left: the certification namespaces are cleared
        assert all(count > 0 for count in per_master.values()), per_master
        assert sorted(manager.keys()) == sorted(
            f"spread:wm:WORKING_MEMORY:conversation-{n}" for n in range(60)
        )
        assert [i.working_memory for i in manager.retrieve(put("conversation-7"))] == ["w7"]
        assert manager.clear_namespace() == 60
        assert "cluster=True" in repr(manager)


def test_the_async_manager_bounds_calls_in_flight_on_the_cluster(
    redis_cluster: RedisCluster,
) -> None:
    async def scenario() -> list[BaseException | None]:
        manager = AsyncRedisWorkingMemoryManager(
            redis_cluster.url, cluster=True, namespace="many-tasks", max_connections=20
        )

        async def one(n: int) -> None:
            await manager.store(put(f"c{n % 50}", f"v{n}"))
            await manager.retrieve(put(f"c{n % 50}"))

        results = await asyncio.gather(*(one(n) for n in range(500)), return_exceptions=True)
        await manager.clear_namespace()
        await manager.aclose()
        return [r if isinstance(r, BaseException) else None for r in results]

    errors = [r for r in asyncio.run(scenario()) if r is not None]
    assert errors == []


# -- failover (runs last: it changes which nodes are masters) -----------------------------


def _workload(
    manager: RedisWorkingMemoryManager,
    worker: int,
    stop: threading.Event,
    log: dict[str, list[tuple[str, str, bool]]],
    wrong: list[str],
    errors: list[BaseException],
) -> None:
    """Write increasing values to a few slots and read them back, recording what each call
    did: ``(operation, value, acknowledged)``. A read must return a value written to that
    slot (or nothing): anything else is a wrong answer."""
    counter = 0
    while not stop.is_set():
        for slot in range(4):
            cid = f"w{worker}-s{slot}"
            counter += 1
            value = f"{cid}:{counter}"
            try:
                manager.store(put(cid, value))
                log[cid].append(("store", value, True))
            except MemoryBackendError:
                log[cid].append(("store", value, False))
            except Exception as exc:  # anything else is a failure of the test
                errors.append(exc)
            try:
                got = [item.working_memory for item in manager.retrieve(put(cid))]
            except MemoryBackendError:
                continue
            except Exception as exc:
                errors.append(exc)
                continue
            written = {v for op, v, _ in log[cid] if op == "store"}
            if got and (len(got) != 1 or got[0] not in written):
                wrong.append(f"{cid} read {got!r}")
        time.sleep(0.002)


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _converged(cluster: RedisCluster, dead: int) -> bool:
    """Every live node says the cluster is ok and none routes a slot to the dead node."""
    live = [p for p, process in cluster.processes.items() if process.poll() is None]
    return all(
        "cluster_state:ok" in cluster.cli(p, "CLUSTER", "INFO")
        and f"\n{dead}\n" not in cluster.cli(p, "CLUSTER", "SLOTS")
        for p in live
    )


def test_a_master_fails_over_during_a_workload(redis_cluster: RedisCluster) -> None:
    manager = RedisWorkingMemoryManager(
        redis_cluster.url,
        cluster=True,
        namespace="failover",
        ttl=600,
        socket_timeout=0.5,
        retries=2,
    )
    log: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    wrong: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    workers = [
        threading.Thread(target=_workload, args=(manager, n, stop, log, wrong, errors))
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    victim = next(port for port, role in redis_cluster.roles().items() if role == "master")
    replication = redis_cluster.cli(victim, "INFO", "replication")
    replica = int(replication.split("slave0:", 1)[1].split("port=", 1)[1].split(",", 1)[0])
    redis_cluster.processes[victim].kill()  # SIGKILL: no goodbye, as when a machine dies
    redis_cluster.processes[victim].wait(10)
    # The replica is promoted once the others have seen the master silent for the node
    # timeout (2 s). That can take longer on a loaded machine; after 8 s the replica is told
    # to take over, as an operator would.
    promoted = _wait(lambda: redis_cluster.roles().get(replica) == "master", 8)
    if not promoted:
        redis_cluster.cli(replica, "CLUSTER", "FAILOVER", "TAKEOVER")
    assert _wait(lambda: _converged(redis_cluster, victim), 45), redis_cluster.cli(
        replica, "CLUSTER", "NODES"
    )
    time.sleep(1.0)  # the workload runs on the new topology for a while
    stop.set()
    for worker in workers:
        worker.join(30)
    failed = sum(1 for entries in log.values() for _, _, ok in entries if not ok)
    acknowledged = sum(1 for entries in log.values() for _, _, ok in entries if ok)

    # The same manager, not rebuilt, serves every slot afterwards: 20 of 20 calls.
    after = 0
    for n in range(20):
        manager.store(put(f"after-{n}", f"a{n}"))
        after += [i.working_memory for i in manager.retrieve(put(f"after-{n}"))] == [f"a{n}"]
    # Acknowledged writes read back: each slot holds its last acknowledged value, or a later
    # write whose outcome was indeterminate (it raised); anything older is a lost write.
    lost = []
    for cid, entries in log.items():
        got = [i.working_memory for i in manager.retrieve(put(cid))]
        acked = [n for n, (_, _, ok) in enumerate(entries) if ok]
        if not acked:
            continue
        allowed = {value for _, value, _ in entries[acked[-1] :]}
        if (got[:1] and got[0] not in allowed) or not got:
            lost.append(cid)
    print(
        f"failover of master {victim}: {acknowledged} writes acknowledged, {failed} raised "
        f"MemoryBackendError, {len(lost)} of {len(log)} slots lost their last acknowledged "
        f"write, recovered {after}/20, replica promoted "
        f"{'by itself' if promoted else 'on TAKEOVER'}"
    )
    manager.clear_namespace()
    manager.close()
    redis_cluster.restart(victim)
    redis_cluster.wait_healthy()

    assert errors == [], errors  # only MemoryBackendError, never another exception
    assert wrong == []  # never a wrong answer
    assert failed > 0  # the failover was seen, as errors, while the slots had no master
    assert after == 20
    # Redis replicates asynchronously, so a write acknowledged just before the kill may be
    # lost; the figure is printed and reported on the Redis page, not asserted.
    assert len(lost) <= len(log)
