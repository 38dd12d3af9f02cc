"""Mutation testing of the reference in-memory manager and the corpus's simple manager.

``make mutation`` runs ``python tools/mutation.py run``. It mutates, with cosmic-ray, two files
and runs the conformance suite against every mutant:

- ``reference/in_memory.py``: killed when ``memspec certify`` of ``InMemoryManager`` or of
  ``AsyncInMemoryManager`` fails (``--quick``, a fixed ``--seed``, ``--no-shrink``);
- ``tests/corpus/simple.py``: killed when ``memspec certify corpus.simple:SimpleManager``
  fails (same options, ``tests`` on the path).

Nothing in the working tree is ever written. The sources are copied once into
``build/mutation/source`` (from the working tree, or from a commit with ``--rev``), and from
there into one *lane* per job, ``build/mutation/lane-N``, laid out the way the packages are
imported (``memspec/``, ``memspec/reference/``, ``memspec/conformance/``, ``tests/corpus/``).
Each lane runs ``cosmic-ray exec`` on its share of the mutants, in that directory, with
``PYTHONPATH`` pointing at it, so the lane's copy is what gets imported (ahead of the editable
install's finder, which Python consults after ``PYTHONPATH``). The killer checks this before
every run: it refuses (exit 3, reported as an error) when a module comes from elsewhere.

Before the mutants, every lane certifies the unmutated copy (which must pass, and which sets
the per-mutant timeout) and lane 0 certifies a deliberate mutant of each file (which must be
killed, and must be seen by the killer): proof that the mutated file is the one imported.

The counts, and every surviving mutant paired with its reason from
``benchmarks/mutation-survivors.toml`` (or listed with its diff as unexplained), go to standard
output; ``build/mutation/survivors.txt`` and ``build/mutation/results.json`` keep them, and
``report`` pairs the last run's survivors with the reasons file again.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import importlib
import io
import json
import math
import os
import py_compile
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRATCH = REPO / "build" / "mutation"

#: What the snapshot copies; the package-dir mapping is read from its pyproject.toml.
SNAPSHOT_PATHS = ("pyproject.toml", "spec", "reference", "conformance", "tests/corpus")

#: Printed by the killer when a module was not imported from its lane: the run is void.
GUARD = "MUTATION-IMPORT-GUARD"
#: Set by the deliberate mutant of the self-check, and reported by the killer when present.
SENTINEL = "_MEMSPEC_MUTATION_SENTINEL"
#: cosmic-ray records a test command that overran its timeout as killed with this output.
TIMEOUT_OUTPUT = "timeout"


@dataclasses.dataclass(frozen=True)
class Target:
    """A file to mutate and the certifications that kill its mutants."""

    name: str
    path: str  # in the repository
    module: str  # its import name
    managers: tuple[str, ...]  # certified in turn; the first failure kills the mutant
    broken_class: str  # the self-check's deliberate mutant breaks this class's retrieve


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            "in-memory",
            "reference/in_memory.py",
            "memspec.reference.in_memory",
            ("memspec.reference:InMemoryManager", "memspec.reference:AsyncInMemoryManager"),
            "InMemoryManager",
        ),
        Target(
            "simple",
            "tests/corpus/simple.py",
            "corpus.simple",
            ("corpus.simple:SimpleManager",),
            "SimpleManager",
        ),
    )
}


# -- the killer: the test command cosmic-ray runs in a lane --------------------------------


def kill(target: Target, seed: int) -> int:
    """Certify ``target``'s managers from the current directory's copy: 0 if all pass."""
    root = Path.cwd().resolve()
    try:
        module = importlib.import_module(target.module)
        cli = importlib.import_module("memspec.conformance.cli")
    except Exception as exc:  # a mutant that breaks the import is killed by it
        print(f"import failed: {exc!r}", flush=True)
        return 1
    for name in ("memspec", "memspec.conformance.cli", target.module):
        origin = Path(str(sys.modules[name].__file__)).resolve()
        if not origin.is_relative_to(root):
            print(f"{GUARD}: {name} imported from {origin}, not from {root}", flush=True)
            return 3
    print(f"imported {target.module} from {module.__file__}", flush=True)
    if getattr(module, SENTINEL, False):
        print("the self-check's deliberate mutant is present", flush=True)
    for manager in target.managers:
        argv = ["certify", manager, "--quick", "--seed", str(seed), "--no-shrink", "-q"]
        status = int(cli.main(argv))
        sys.stdout.flush()
        if status != 0:
            print(f"killed: certify {manager} exited {status}", flush=True)
            return 1
    return 0


# -- the scratch copies ----------------------------------------------------------------------


def _ignore(_directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name == "__pycache__" or name.endswith(".pyc")}


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def snapshot(rev: str | None, destination: Path) -> str:
    """Copy the sources into ``destination`` (repository layout); return what was copied."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    if rev is not None:
        commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit, "--", *SNAPSHOT_PATHS],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, filter="data")
        return f"commit {commit[:12]} ({rev})"
    for path in SNAPSHOT_PATHS:
        source = REPO / path
        if source.is_dir():
            shutil.copytree(source, destination / path, ignore=_ignore)
        else:
            shutil.copy2(source, destination / path)
    head = _git("rev-parse", "--short=12", "HEAD")
    dirty = _git("status", "--porcelain", "--", *SNAPSHOT_PATHS).splitlines()
    return f"working tree at {head}" + (f" with {len(dirty)} uncommitted changes" if dirty else "")


def layout(snapshot_dir: Path) -> list[tuple[str, str]]:
    """(repository folder, folder in a lane) pairs: the package-dir mapping, and the corpus."""
    pyproject = tomllib.loads((snapshot_dir / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    pairs = [(folder, package.replace(".", "/")) for package, folder in package_dir.items()]
    pairs.sort(key=lambda pair: pair[1].count("/"))  # parents before the packages inside them
    return [*pairs, ("tests/corpus", "tests/corpus")]


def lane_path(pairs: list[tuple[str, str]], repo_path: str) -> str:
    """Where the file at ``repo_path`` lives in a lane."""
    for folder, lane_folder in sorted(pairs, key=lambda pair: -len(pair[0])):
        if repo_path.startswith(folder + "/"):
            return lane_folder + repo_path[len(folder) :]
    raise ValueError(f"{repo_path} is outside the copied packages")


def build_lane(snapshot_dir: Path, pairs: list[tuple[str, str]], lane: Path) -> None:
    """Copy the sources into ``lane`` and compile them once.

    The bytecode is checked against a hash of its source at every import, so a mutated file
    is compiled afresh (and never cached: the lane's environment writes no bytecode) while
    every other module loads without recompiling, in each of the hundreds of killer runs.
    """
    shutil.rmtree(lane, ignore_errors=True)
    for folder, lane_folder in pairs:
        shutil.copytree(
            snapshot_dir / folder, lane / lane_folder, ignore=_ignore, dirs_exist_ok=True
        )
    compileall.compile_dir(
        lane, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
    )


def lane_env(lane: Path) -> dict[str, str]:
    """The environment of everything run in ``lane``: its copy first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(lane), str(lane / "tests")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a stale .pyc must never stand in for a mutant
    env["PYTHONHASHSEED"] = "0"  # the same mutant behaves the same in every run
    return env


#: The killer runs from this copy of the script, so editing tools/ during a run is harmless.
KILLER = SCRATCH / "killer.py"


def killer_command(target: Target, seed: int) -> list[str]:
    # -P: build/mutation itself is not put on the import path, only the lane (PYTHONPATH).
    return [sys.executable, "-P", str(KILLER), "kill", target.name, "--seed", str(seed)]


@dataclasses.dataclass(frozen=True)
class KillerRun:
    status: int
    output: str
    seconds: float


def run_killer(lane: Path, target: Target, seed: int, timeout: float) -> KillerRun:
    started = time.monotonic()
    try:
        done = subprocess.run(
            killer_command(target, seed),
            cwd=lane,
            env=lane_env(lane),
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return KillerRun(-1, TIMEOUT_OUTPUT, time.monotonic() - started)
    return KillerRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


# -- preflight: the unmutated copy passes, a deliberate mutant is killed ---------------------


class RunError(Exception):
    """The run cannot give a meaningful result; the message says why."""


def preflight(
    lanes: list[Path], targets: list[Target], pairs: list[tuple[str, str]], seed: int
) -> float:
    """Check every lane and return the slowest unmutated certification, in seconds."""
    jobs = [(lane, target) for target in targets for lane in lanes]
    with concurrent.futures.ThreadPoolExecutor(len(lanes)) as pool:
        runs = list(pool.map(lambda job: run_killer(job[0], job[1], seed, 600), jobs))
    for (lane, target), run in zip(jobs, runs, strict=True):
        print(f"  unmutated {target.path} in {lane.name}: exit {run.status}, {run.seconds:.1f} s")
        if run.status != 0:
            raise RunError(
                f"the unmutated copy of {target.path} is not certified (exit {run.status}),"
                f" so every mutant would count as killed (mutate a commit where it is, with"
                f" --rev). Killer output:\n{run.output}"
            )
    for target in targets:
        lane = lanes[0]
        mutated = lane / lane_path(pairs, target.path)
        original = mutated.read_bytes()
        working_tree = sha256(REPO / target.path)
        mutant = (
            "\n\n# A deliberate mutant for the self-check of tools/mutation.py.\n"
            f"{SENTINEL} = True\n{target.broken_class}.retrieve = lambda self, input: []\n"
        )
        mutated.write_bytes(original + mutant.encode())
        try:
            run = run_killer(lane, target, seed, 600)
        finally:
            mutated.write_bytes(original)
        seen = "deliberate mutant is present" in run.output and str(mutated) in run.output
        print(
            f"  deliberate mutant of {target.path} in {lane.name}: exit {run.status},"
            f" {'seen' if seen else 'NOT SEEN'} by the killer"
        )
        if run.status != 1 or not seen:
            raise RunError(f"the deliberate mutant of {target.path} was not caught:\n{run.output}")
        if sha256(REPO / target.path) != working_tree:
            raise RunError(f"{target.path} in the working tree changed during the self-check")
    return max(run.seconds for run in runs)


# -- cosmic-ray sessions ------------------------------------------------------------------------


def write_config(target: Target, pairs: list[tuple[str, str]], seed: int, timeout: float) -> Path:
    sessions = SCRATCH / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    config = sessions / f"{target.name}.toml"
    lines = [
        "[cosmic-ray]",
        f"module-path = {json.dumps(lane_path(pairs, target.path))}",
        f"timeout = {timeout:.1f}",
        "excluded-modules = []",
        f"test-command = {json.dumps(shlex.join(killer_command(target, seed)))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
    ]
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def _spec_key(item: Any) -> tuple[int, int, str, int]:
    spec = item.mutations[0]
    return (spec.start_pos[0], spec.start_pos[1], spec.operator_name, spec.occurrence)


Span = tuple[tuple[int, int], tuple[int, int]]


def annotation_spans(source: str) -> list[Span]:
    """Where a function's annotations are, if ``from __future__ import annotations`` is in force.

    Such annotations stay strings at run time, and nothing here evaluates them (the suite reads
    signatures with ``inspect.signature``, which leaves them as they are), so a mutant inside
    one is equivalent by construction. Class-level annotations are left to the mutants: a
    dataclass or a pydantic model reads them. Positions are (line, character column), as
    cosmic-ray gives them.
    """
    tree = ast.parse(source)
    if not any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    ):
        return []
    lines = source.splitlines()

    def position(line: int, byte_column: int) -> tuple[int, int]:
        return line, len(lines[line - 1].encode()[:byte_column].decode())

    spans = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = function.args
        annotations = [
            argument.annotation
            for argument in (
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                arguments.vararg,
                arguments.kwarg,
            )
            if argument is not None and argument.annotation is not None
        ]
        if function.returns is not None:
            annotations.append(function.returns)
        annotations += [
            node.annotation for node in ast.walk(function) if isinstance(node, ast.AnnAssign)
        ]
        for node in annotations:
            assert node.end_lineno is not None and node.end_col_offset is not None
            spans.append(
                (
                    position(node.lineno, node.col_offset),
                    position(node.end_lineno, node.end_col_offset),
                )
            )
    return spans


def in_annotation(item: Any, spans: list[Span]) -> bool:
    spec = item.mutations[0]
    return any(
        start <= tuple(spec.start_pos) and tuple(spec.end_pos) <= end for start, end in spans
    )


def plan(
    target: Target,
    pairs: list[tuple[str, str]],
    config: Path,
    lanes: list[Path],
    limit: int | None,
    verbose: bool,
    annotations: bool,
) -> list[Path]:
    """Enumerate ``target``'s mutants and deal them into one session per lane.

    Unless ``annotations``, the mutants inside annotations are recorded as skipped, not run.
    """
    from cosmic_ray.work_db import WorkDB, use_db  # type: ignore[import-untyped]
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # type: ignore[import-untyped]

    planned = SCRATCH / "sessions" / f"{target.name}-all.sqlite"
    planned.unlink(missing_ok=True)
    subprocess.run(
        [str(Path(sys.executable).with_name("cosmic-ray")), "init", str(config), str(planned)],
        cwd=lanes[0],
        env=lane_env(lanes[0]),
        check=True,
        capture_output=not verbose,
    )
    with use_db(str(planned), WorkDB.Mode.open) as db:
        items = sorted(db.work_items, key=_spec_key)
    source = (lanes[0] / lane_path(pairs, target.path)).read_text(encoding="utf-8")
    spans = [] if annotations else annotation_spans(source)
    skipped = [item for item in items if in_annotation(item, spans)]
    items = [item for item in items if not in_annotation(item, spans)]
    if limit is not None:
        items = items[:: max(1, math.ceil(len(items) / limit))][:limit]
        skipped = skipped[:limit]
    shards = []
    for index, lane in enumerate(lanes):
        shard = SCRATCH / "sessions" / f"{target.name}-{lane.name}.sqlite"
        shard.unlink(missing_ok=True)
        with use_db(str(shard), WorkDB.Mode.create) as db:
            db.add_work_items(items[index :: len(lanes)])
            if index == 0:
                db.add_work_items(skipped)
                for item in skipped:
                    db.set_result(
                        item.job_id,
                        WorkResult(
                            worker_outcome=WorkerOutcome.SKIPPED,
                            output="in an annotation, a string at run time",
                        ),
                    )
        shards.append(shard)
    return shards


def progress(shards: list[Path]) -> tuple[int, int, int]:
    """(done, total, survived so far) over ``shards``, the skipped mutants aside."""
    queries = (
        "SELECT COUNT(*) FROM work_items",
        "SELECT COUNT(*) FROM work_results",
        "SELECT COUNT(*) FROM work_results WHERE UPPER(test_outcome) = 'SURVIVED'",
        "SELECT COUNT(*) FROM work_results WHERE UPPER(worker_outcome) = 'SKIPPED'",
    )
    done = total = survived = 0
    for shard in shards:
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{shard}?mode=ro", uri=True, timeout=5)
            ) as db:
                items, results, alive, skipped = (db.execute(q).fetchone()[0] for q in queries)
        except sqlite3.Error:
            continue  # being written: counted at the next report
        total += items - skipped
        done += results - skipped
        survived += alive
    return done, total, survived


def execute(lanes: list[Path], sessions: list[tuple[Path, list[Path]]], interval: float) -> None:
    """Run every lane's sessions, one ``cosmic-ray exec`` after another, lanes in parallel."""
    cosmic_ray = str(Path(sys.executable).with_name("cosmic-ray"))
    (SCRATCH / "logs").mkdir(parents=True, exist_ok=True)
    processes: dict[int, subprocess.Popen[bytes]] = {}
    failures: list[str] = []
    stop = threading.Event()

    def run_lane(index: int, lane: Path) -> None:
        with (SCRATCH / "logs" / f"{lane.name}.log").open("wb") as log:
            for config, shards in sessions:
                if stop.is_set():
                    return
                process = subprocess.Popen(
                    [cosmic_ray, "exec", str(config), str(shards[index])],
                    cwd=lane,
                    env=lane_env(lane),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                processes[index] = process
                if process.wait() != 0 and not stop.is_set():
                    failures.append(f"cosmic-ray exec {config.name} in {lane.name}")

    all_shards = [shard for _, shards in sessions for shard in shards]
    threads = [
        threading.Thread(target=run_lane, args=(index, lane), daemon=True)
        for index, lane in enumerate(lanes)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(interval / len(threads))
            done, total, survived = progress(all_shards)
            elapsed = time.monotonic() - started
            eta = f", about {_duration(elapsed / done * (total - done))} left" if done else ""
            print(f"  {_duration(elapsed)}: {done}/{total} mutants, {survived} survived{eta}")
    except KeyboardInterrupt:
        stop.set()
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        raise
    if failures:
        raise RunError("failed (see build/mutation/logs): " + "; ".join(failures))


# -- results -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    function: str | None
    operator: str
    occurrence: int
    outcome: str  # one of OUTCOMES
    diff: str
    output: str


def collect(target: Target, pairs: list[tuple[str, str]], shards: list[Path]) -> list[Mutant]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    lane_file = lane_path(pairs, target.path)
    mutants = []
    for shard in shards:
        with use_db(str(shard), WorkDB.Mode.open) as db:
            completed = db.completed_work_items
            pending = db.pending_work_items
        for item, result in completed:
            output = result.output or ""
            if GUARD in output:
                raise RunError(f"a killer imported code from outside its lane:\n{output}")
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                outcome = "skipped"
            elif result.worker_outcome != WorkerOutcome.NORMAL:
                outcome = "error"
            elif result.test_outcome == TestOutcome.SURVIVED:
                outcome = "survived"
            elif result.test_outcome == TestOutcome.KILLED:
                outcome = "timeout" if output == TIMEOUT_OUTPUT else "killed"
            else:
                outcome = "error"
            mutants.append(_mutant(target, lane_file, item, outcome, result.diff or "", output))
        mutants.extend(_mutant(target, lane_file, item, "pending", "", "") for item in pending)
    return sorted(mutants, key=lambda m: (m.line, m.operator, m.occurrence))


def _mutant(
    target: Target, lane_file: str, item: Any, outcome: str, diff: str, output: str
) -> Mutant:
    spec = item.mutations[0]
    lines = []
    for line in diff.splitlines():
        if line == "--- mutation diff ---":
            continue
        if line.startswith(("--- ", "+++ ")) and line.endswith(lane_file):
            line = f"{line[:4]}{'a' if line[0] == '-' else 'b'}/{target.path}"
        lines.append(line)
    return Mutant(
        path=target.path,
        line=spec.start_pos[0],
        function=spec.definition_name,
        operator=spec.operator_name,
        occurrence=spec.occurrence,
        outcome=outcome,
        diff="\n".join(lines),
        output=output,
    )


OUTCOMES = ("killed", "survived", "timeout", "skipped", "error", "pending")


@dataclasses.dataclass(frozen=True)
class Reason:
    """Why some surviving mutants are harmless: an entry of :data:`REASONS`."""

    path: str
    function: str  # the enclosing function or class, as cosmic-ray names it; "" at module level
    kind: str  # one of KINDS
    reason: str
    lines: tuple[str, ...] = ()  # the source lines it covers, stripped; none: all of function

    def covers(self, mutant: Mutant, line_text: str) -> bool:
        return (
            mutant.path == self.path
            and (mutant.function or "") == self.function
            and (not self.lines or line_text.strip() in self.lines)
        )


#: ``equivalent``: the four operations behave exactly as before (at most slower or using
#: more memory). ``outside``: the mutant changes only what the contract leaves to the
#: implementation and the four operations cannot reach (extra API, options never passed).
KINDS = ("equivalent", "outside")

#: The surviving mutants' reasons, kept beside the figures they explain.
REASONS = REPO / "benchmarks" / "mutation-survivors.toml"


def load_reasons(path: Path = REASONS) -> list[Reason]:
    """The entries of ``path``; ``RunError`` naming the entry and field of a bad one."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    reasons = []
    for index, entry in enumerate(data.get("survivor", [])):
        where = f"{path.name}: survivor {index + 1}"
        unknown = set(entry) - {f.name for f in dataclasses.fields(Reason)}
        if unknown:
            raise RunError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        entry.setdefault("function", "")
        if not isinstance(entry["function"], str):
            raise RunError(f"{where}: 'function' must be a string ('' for module level)")
        for name in ("path", "kind", "reason"):
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise RunError(f"{where}: {name!r} must be a non-empty string")
        if entry["kind"] not in KINDS:
            raise RunError(
                f"{where}: kind must be one of {', '.join(KINDS)}, not {entry['kind']!r}"
            )
        value = entry.get("lines", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RunError(f"{where}: 'lines' must be a list of strings")
        entry["lines"] = tuple(v.strip() for v in value)
        reasons.append(Reason(**entry))
    return reasons


def explain(
    mutants: list[Mutant], sources: dict[str, list[str]], reasons: list[Reason]
) -> tuple[list[tuple[Mutant, Reason]], list[Mutant]]:
    """Pair every surviving mutant with the first reason that covers it; list the rest."""
    explained, unexplained = [], []
    for mutant in (m for m in mutants if m.outcome == "survived"):
        lines = sources.get(mutant.path, [])
        text = lines[mutant.line - 1] if 0 < mutant.line <= len(lines) else ""
        reason = next((r for r in reasons if r.covers(mutant, text)), None)
        if reason is None:
            unexplained.append(mutant)
        else:
            explained.append((mutant, reason))
    return explained, unexplained


Pairing = tuple[list[tuple[Mutant, Reason]], list[Mutant]]


def summarise(
    mutants: list[Mutant], header: list[str], pairing: Pairing, reasons: list[Reason]
) -> str:
    """The counts per file, the survivors each reason covers (``pairing``, from
    :func:`explain`), and every other survivor with its diff."""
    paths = sorted({m.path for m in mutants})
    rows: list[tuple[str, ...]] = [("file", "mutants", *OUTCOMES)]
    for path in [*paths, "total"]:
        chosen = [m for m in mutants if path in (m.path, "total")]
        rows.append(
            (path, str(len(chosen)), *(str(sum(m.outcome == o for m in chosen)) for o in OUTCOMES))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    explained, unexplained = pairing
    out = [*header, "", *table, ""]
    out.append(
        f"surviving mutants: {len(explained) + len(unexplained)}, {len(explained)} explained in "
        f"{REASONS.relative_to(REPO)}, {len(unexplained)} not"
    )
    for reason in reasons:
        covered = [m for m, r in explained if r is reason]
        if covered:
            lines = ", ".join(f"L{line}" for line in sorted({m.line for m in covered}))
            out.append(
                f"- {reason.path} {reason.function or '(module)'} ({lines}) x{len(covered)} "
                f"[{reason.kind}]: {reason.reason}"
            )
    for m in unexplained:
        where = f" in {m.function}" if m.function else ""
        out += ["", f"UNEXPLAINED {m.path}:{m.line}{where}: {m.operator} #{m.occurrence}", m.diff]
    for m in (m for m in mutants if m.outcome == "timeout"):
        where = f" in {m.function}" if m.function else ""
        out.append(f"timed out: {m.path}:{m.line}{where}: {m.operator} #{m.occurrence}")
    for outcome in ("error", "pending"):
        for m in (m for m in mutants if m.outcome == outcome):
            out.append(
                f"{outcome}: {m.path}:{m.line} {m.operator} #{m.occurrence}: {m.output[-500:]}"
            )
    return "\n".join(out) + "\n"


def read_sources(paths: set[str]) -> dict[str, list[str]]:
    """The mutated files as the run copied them (``build/mutation/source``)."""
    return {
        path: (SCRATCH / "source" / path).read_text(encoding="utf-8").splitlines()
        for path in paths
        if (SCRATCH / "source" / path).is_file()
    }


def report(args: argparse.Namespace) -> int:
    """Summarise the last run again, with the reasons file as it is now."""
    try:
        data = json.loads((SCRATCH / "results.json").read_text(encoding="utf-8"))
        header = (SCRATCH / "survivors.txt").read_text(encoding="utf-8").splitlines()[:1]
    except OSError:
        print("no run to report on: run `make mutation` first", file=sys.stderr)
        return 2
    mutants, reasons = [Mutant(**item) for item in data], load_reasons()
    pairing = explain(mutants, read_sources({m.path for m in mutants}), reasons)
    print(summarise(mutants, header, pairing, reasons), end="")
    return 1 if pairing[1] else 0


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


# -- the command line ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    targets = [TARGETS[name] for name in (args.only or TARGETS)]
    before = {t.path: sha256(REPO / t.path) for t in targets}
    try:
        import cosmic_ray  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        print("cosmic-ray is not installed: run `make mutation`", file=sys.stderr)
        return 2

    load_reasons()  # a malformed reasons file fails now, not after the run
    print(f"copying the sources into {SCRATCH.relative_to(REPO)}")
    SCRATCH.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(__file__).resolve(), KILLER)
    source = snapshot(args.rev, SCRATCH / "source")
    pairs = layout(SCRATCH / "source")
    lanes = [SCRATCH / f"lane-{index}" for index in range(args.jobs)]
    for lane in lanes:
        build_lane(SCRATCH / "source", pairs, lane)
    print(f"  {source}; {len(lanes)} lanes")

    print("self-check")
    slowest = preflight(lanes, targets, pairs, args.seed)
    timeout = args.timeout or max(30.0, math.ceil(10 * slowest))
    print(f"  per-mutant timeout: {timeout:.0f} s")

    print("planning")
    sessions = []
    for target in targets:
        config = write_config(target, pairs, args.seed, timeout)
        shards = plan(target, pairs, config, lanes, args.limit, args.verbose, args.annotations)
        sessions.append((config, shards))
        print(f"  {target.path}: {progress(shards)[1]} mutants to run")

    print(f"running the mutants, {len(lanes)} at a time")
    execute(lanes, sessions, args.interval)

    mutants = [m for t, (_, s) in zip(targets, sessions, strict=True) for m in collect(t, pairs, s)]
    header = [
        f"mutation testing with cosmic-ray of {source}, seed {args.seed},"
        f" {len(lanes)} lanes, timeout {timeout:.0f} s per mutant,"
        f" {_duration(time.monotonic() - started)} in all",
    ]
    reasons = load_reasons()
    pairing = explain(mutants, read_sources({t.path for t in targets}), reasons)
    text = summarise(mutants, header, pairing, reasons)
    (SCRATCH / "survivors.txt").write_text(text, encoding="utf-8")
    results = [dataclasses.asdict(m) for m in mutants]
    (SCRATCH / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print()
    print(text, end="")
    print(f"written to {(SCRATCH / 'survivors.txt').relative_to(REPO)} and results.json")
    for target in targets:
        if sha256(REPO / target.path) != before[target.path]:
            print(f"note: {target.path} changed in the working tree during the run (someone else)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="mutate, certify every mutant, report")
    runner.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel lanes")
    runner.add_argument("--timeout", type=float, help="seconds per mutant (default: 10x baseline)")
    runner.add_argument("--seed", type=int, default=1, help="the certifications' seed")
    runner.add_argument("--rev", help="mutate this commit instead of the working tree")
    runner.add_argument("--only", action="append", choices=list(TARGETS), help="one target")
    runner.add_argument("--limit", type=int, help="at most this many mutants per file (spread)")
    runner.add_argument("--interval", type=float, default=30.0, help="seconds between progress")
    runner.add_argument(
        "--annotations",
        action="store_true",
        help="also run the mutants inside function annotations (skipped: equivalent)",
    )
    runner.add_argument("--verbose", action="store_true", help="show cosmic-ray's own output")
    commands.add_parser(
        "report", help="summarise the last run again against the reasons file (1: unexplained)"
    )
    killer = commands.add_parser("kill", help="the test command cosmic-ray runs in a lane")
    killer.add_argument("target", choices=list(TARGETS))
    killer.add_argument("--seed", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "kill":
        return kill(TARGETS[args.target], args.seed)
    try:
        return report(args) if args.command == "report" else run(args)
    except RunError as exc:
        print(f"mutation testing stopped: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
