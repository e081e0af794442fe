"""Running the pack's notebooks: each in its own process, at most ``jobs`` at a time (the
longest first); a failure stops the ones running and starts no other, and is named with
its notebook, cell, section and error (a cell over its time limit says the limit)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from multiprocessing import get_context
from multiprocessing.connection import wait as wait_ready
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..config import NOTEBOOKS_DIR
from ..io.writer import atomic_write_text

if TYPE_CHECKING:
    from .runner import Context


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _heading_before(nb, index: int) -> str:
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def _timeout_text(timeout: int, budget) -> str:
    """Where the per-cell time limit comes from (it is derived from ``--time-budget``)."""
    return (f"the cell ran longer than the per-cell time limit of {timeout} s (twice the "
            f"--time-budget of {budget} s; give a larger --time-budget to allow more)")


def _execute(src: str, dst: str, parameters: dict, cwd: str, timeout: int,
             title_html: str | None = None, budget=None) -> dict:
    """Run one notebook (in a worker process); report status, times and the failing cell.
    With ``title_html``, the HTML for people is written beside it here too (in parallel
    with the other notebooks, not after all of them). ``budget``: the ``--time-budget``
    the per-cell ``timeout`` was derived from (named in a timeout's message)."""
    import warnings

    import nbformat
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    started = _now()
    t0 = time.perf_counter()
    out = {"notebook": Path(src).name, "started": started, "status": "ok"}
    try:
        pm.execute_notebook(src, dst, parameters=parameters, kernel_name="python3", cwd=cwd,
                            progress_bar=False, log_output=False, execution_timeout=timeout)
    except Exception as e:  # noqa: BLE001 - reported to the runner, which fails the pack
        out["status"] = "failed"
        out["error"] = f"{type(e).__name__}: {e}"
        ename = getattr(e, "ename", None)
        if ename:
            out["error"] = f"{ename}: {getattr(e, 'evalue', '')}"
        if isinstance(e, CellTimeoutError):
            out["error"] = f"CellTimeoutError: {_timeout_text(timeout, budget)}"
        index = getattr(e, "cell_index", None)
        out["cell_index"] = index
        out["exec_count"] = getattr(e, "exec_count", None)
        if Path(dst).exists():
            try:        # the cell holding the error output, and the section it is in
                nb = nbformat.read(dst, as_version=4)
                at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                           and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                          index)
                if at is not None:
                    out["cell_index"] = at
                    out["exec_count"] = nb.cells[at].get("execution_count") or out["exec_count"]
                    out["cell_heading"] = _heading_before(nb, at)
            except Exception:  # noqa: BLE001 - the message is still clear without the heading
                pass
    out["ended"] = _now()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    if out["status"] == "ok" and title_html is not None:
        from ..reporting.html import notebook_to_html

        nb = nbformat.read(dst, as_version=4)
        atomic_write_text(Path(dst).with_suffix(".html"), notebook_to_html(nb, title_html=title_html))
    return out


def _worker(conn, src: str, dst: str, parameters: dict, cwd: str, timeout: int,
            title_html: str | None, budget) -> None:
    """A worker process: run one notebook and send its result to the runner."""
    try:
        result = _execute(src, dst, parameters, cwd, timeout, title_html, budget)
    except BaseException as e:  # noqa: BLE001 - any failure is the notebook's, reported
        result = {"notebook": Path(src).name, "status": "failed", "started": None,
                  "ended": _now(), "seconds": None, "error": f"{type(e).__name__}: {e}"}
    try:
        conn.send(result)
    finally:
        conn.close()


class _Notebooks:
    """Runs the notebooks in worker processes, ``jobs`` at a time, in the given order.

    Each notebook gets its own process (spawned, with a pipe for its result), started only
    when a slot is free: nothing is queued inside a pool, so nothing is left to cancel.
    When one fails, no other is started (they are recorded as ``not run``) and those
    running are stopped (``stopped``: their kernels exit with them), so the run ends at
    once in the failure path. :meth:`stop` does the same from outside (an error in the
    runner, Ctrl-C)."""

    def __init__(self, specs: list[tuple[str, tuple]], jobs: int, say):
        self.specs, self.jobs, self.say = specs, jobs, say
        self.runs: list[dict] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._why = ""

    def stop(self, why: str) -> None:
        self._why = why
        self._stop.set()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as e:  # noqa: BLE001 - handed to the runner's thread
            self.error = e

    def _run(self) -> None:
        mp = get_context("spawn")
        pending = list(self.specs)
        running: dict[str, tuple] = {}
        try:
            while pending or running:
                if self._stop.is_set():
                    break
                while pending and len(running) < self.jobs:
                    name, args = pending.pop(0)
                    reader, writer = mp.Pipe(duplex=False)
                    proc = mp.Process(target=_worker, args=(writer, *args),
                                      name=f"workbench-pack-{name}")
                    proc.start()
                    writer.close()
                    running[name] = (proc, reader, time.perf_counter())
                    self.say(f"started {name}")
                waits = [w for proc, reader, _ in running.values()
                         for w in (reader, proc.sentinel)]
                ready = set(wait_ready(waits, timeout=0.5))
                for name, (proc, reader, _) in list(running.items()):
                    if reader not in ready and proc.sentinel not in ready:
                        continue
                    result = None
                    try:
                        if reader.poll():
                            result = reader.recv()
                    except (EOFError, OSError):
                        result = None
                    if result is None:
                        if proc.is_alive():
                            proc.join(5)
                        if proc.is_alive():
                            continue
                        result = {"notebook": name, "status": "failed", "started": None,
                                  "ended": _now(), "seconds": None,
                                  "error": f"the notebook's worker process ended without a "
                                           f"result (exit code {proc.exitcode})"}
                    proc.join()
                    reader.close()
                    del running[name]
                    self.runs.append(result)
                    took = result.get("seconds")
                    self.say(f"{name}: {result['status']}"
                             + (f" in {took:.1f} s" if took is not None else ""))
                    if result["status"] != "ok" and not self._stop.is_set():
                        self.stop(f"{name} failed")
        finally:
            for name, (proc, reader, t0) in running.items():
                proc.terminate()
            for name, (proc, reader, t0) in running.items():
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
                reader.close()
                self.runs.append({"notebook": name, "status": "stopped", "started": None,
                                  "ended": _now(),
                                  "seconds": round(time.perf_counter() - t0, 2),
                                  "error": f"stopped unfinished: {self._why or 'the run ended'}"})
                self.say(f"{name}: stopped ({self._why})")
            for name, _ in pending:
                self.runs.append({"notebook": name, "status": "not run", "started": None,
                                  "ended": None, "seconds": None,
                                  "error": f"not started: {self._why or 'the run ended'}"})


def _run_notebooks(kind: str, ctx: "Context", tmp: Path, jobs: int | None, options: dict,
                   say, meanwhile: Callable[[], dict], titles: dict[str, str]
                   ) -> tuple[list[dict], dict]:
    """Run the pack's notebooks in worker processes, the longest first; ``meanwhile`` runs
    in this process while they run. Returns the runs (in the pack's order; a failed one
    with ``error``, the cell and its section; the others ``ok``, ``stopped`` or ``not
    run``) and ``meanwhile``'s answer."""
    from .runner import PACKS  # the packs' notebooks (runner imports this module)
    order = sorted(PACKS[kind], key=lambda j: -j.cost)
    jobs = jobs or min(2, os.cpu_count() or 1)
    budget = int(options.get("time_budget", 600))
    timeout = budget * 2            # the per-cell limit, derived from --time-budget
    base = {"ledger_dir": ctx.snapshot, "as_of": str(ctx.period.end.date()),
            "pack_dir": str(tmp)}
    nb_dir = Path(os.environ.get("WORKBENCH_NOTEBOOKS_DIR", NOTEBOOKS_DIR))
    specs = [(job.notebook, (str(nb_dir / job.notebook), str(tmp / job.notebook),
                             {**base, **job.params(ctx)}, str(nb_dir), timeout,
                             titles.get(job.notebook), budget)) for job in order]
    # kernels inherit these: no display; one thread each when kernels share the cores
    env_keys = {"MPLBACKEND": "Agg"}
    if jobs > 1:
        env_keys.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                         "MKL_NUM_THREADS": "1"})
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ.update(env_keys)
    notebooks = _Notebooks(specs, jobs, say)
    thread = threading.Thread(target=notebooks.run, name="workbench-pack-notebooks",
                              daemon=True)
    try:
        thread.start()
        try:
            answer = meanwhile()
            while thread.is_alive():
                thread.join(0.5)
        except BaseException:
            notebooks.stop("the pack run was interrupted")
            thread.join()
            raise
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if notebooks.error is not None:
        raise notebooks.error
    rank = {j.notebook: i for i, j in enumerate(PACKS[kind])}
    return sorted(notebooks.runs, key=lambda r: rank[r["notebook"]]), answer


