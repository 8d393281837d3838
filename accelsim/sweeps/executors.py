"""Where the points of a sweep run: this process, local worker processes, or Dask.

Place in the pipeline: ``sweeps.runner -> sweeps.executors`` (this module)
``-> sweeps.worker`` on each worker.

Every executor runs the same function (:func:`accelsim.sweeps.worker.evaluate_tasks`)
on the same batches and returns its results in whatever order they finish; the
runner sorts the table, so the numbers are the same on every executor.

- :class:`SerialExecutor`: in the calling process (``jobs=1``): no start-up cost.
- :class:`ProcessExecutor`: a ``concurrent.futures.ProcessPoolExecutor``
  started with ``forkserver`` (``spawn`` where there is no forkserver). Not
  ``fork``: the sweeping process may hold threads (a Dask client, numba's
  threading layer, a progress bar), and forking a process with threads can
  deadlock a child on a lock some thread held. ``forkserver`` gives fresh
  single-threaded children like ``spawn``, but its server imports accelsim
  (numpy, numba, pandas) once and each worker forks from it ready, instead of
  each worker paying the imports again.
- :class:`DaskExecutor`: an existing Dask distributed cluster (scheduler
  address) or a ``LocalCluster`` started for the sweep. Workers must have the
  same accelsim installed and see the trace files at the same paths. How long
  to try reaching a scheduler is Dask's ``distributed.comm.timeouts.connect``.

Local workers exit when the sweeping process dies, however it dies
(:func:`_watch_lifeline`). A Ctrl-C reaches the sweeping process only, never a
local Dask cluster's workers; pressed while that cluster starts, it stops the
sweep as soon as the cluster is up (and closed again), see
:func:`_sigint_held_for_start_up`. At most ``window`` batches are in flight at a
time, so a large sweep does not queue every point's arch document at once.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

from accelsim.errors import AccelsimError

WORKER_MODULE = "accelsim.sweeps.worker"
DASK_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")
"""Protocols of a scheduler address (Dask's comm backends but ``inproc``, which
only reaches a scheduler in the same process: pass that one's Client)."""


def _address_problem(address: str) -> str | None:
    """Why ``address`` is not ``[PROTOCOL://]HOST:PORT`` (None if it is)."""
    protocol, sep, rest = address.partition("://")
    if not sep:
        rest = address  # Dask's default protocol is tcp
    elif protocol not in DASK_PROTOCOLS:
        return f"unknown protocol {protocol!r}, known: {', '.join(DASK_PROTOCOLS)}"
    host, colon, port = rest.rpartition(":")
    if not colon or not port:
        return "no port"
    if not host or any(c.isspace() or c == "/" for c in host):
        return f"bad host {host!r}"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"bad port {port!r}, not an integer from 1 to 65535"
    return None


def check_dask(target: Any, *, option: str | None = None) -> None:
    """Raise unless ``target`` can name a Dask cluster and Dask distributed is installed.

    Called before a sweep touches its store, so a typo in ``--dask`` is a
    one-line error that leaves nothing behind. Whether a scheduler answers at
    the address is only known when :class:`DaskExecutor` connects. ``option``
    (such as ``--dask``) is named in the error; else the parameter ``dask``.
    """
    if isinstance(target, str):
        problem = None if target == "local" else _address_problem(target)
        if problem is not None:
            where = f"{option} {target}" if option else f"dask {target!r}"
            raise AccelsimError(f"{where}: not a Dask scheduler address ({problem}); use "
                                "'local' or PROTOCOL://HOST:PORT such as tcp://scheduler:8786")
    elif not (hasattr(target, "submit") and hasattr(target, "nthreads")):
        raise AccelsimError(f"dask: must be 'local', a scheduler address or a "
                            f"distributed.Client (got {type(target).__name__})")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise AccelsimError("--dask needs Dask distributed: pip install "
                            "'accelsim[dask]'") from None


class SerialExecutor:
    """Run every batch in this process."""

    workers = 1

    def __enter__(self) -> "SerialExecutor":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def run(self, fn: Callable, batches: Iterable[Any]) -> Iterator[Any]:
        for batch in batches:
            yield fn(batch)


def start_method() -> str:
    """``forkserver`` where the platform has it, else ``spawn`` (see the module docstring)."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _watch_lifeline(lifeline) -> None:
    """Worker initializer: exit when the sweeping process is gone, even killed by SIGKILL.

    A pool worker killed out from under its parent does not notice on its own:
    it holds both ends of its task queue, so it waits for work forever. The
    sweeping process holds the only write end of ``lifeline``; when it dies
    the read below ends and the worker exits.
    """
    def watch() -> None:
        try:
            lifeline.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="accelsim-sweep-lifeline", daemon=True).start()


class ProcessExecutor:
    """Run batches on ``jobs`` local worker processes."""

    def __init__(self, jobs: int, *, window: int | None = None) -> None:
        self.workers = jobs
        self.window = window or 4 * jobs
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline = None

    def __enter__(self) -> "ProcessExecutor":
        ctx = multiprocessing.get_context(start_method())
        if ctx.get_start_method() == "forkserver":
            # Effective only if this process has not started its forkserver yet.
            ctx.set_forkserver_preload([WORKER_MODULE])
        # Both ends stay open here (workers start lazily, on submit); only the
        # read end goes to the workers.
        self._lifeline = ctx.Pipe(duplex=False)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                         initializer=_watch_lifeline,
                                         initargs=(self._lifeline[0],))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._lifeline is not None:
            for end in self._lifeline:
                end.close()
            self._lifeline = None

    def run(self, fn: Callable, batches: Iterable[Any]) -> Iterator[Any]:
        todo = iter(batches)
        pending: set = set()
        while True:
            while len(pending) < self.window:
                batch = next(todo, None)
                if batch is None:
                    break
                pending.add(self._pool.submit(fn, batch))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()


@contextlib.contextmanager
def _sigint_held_for_start_up():
    """Hold Ctrl-C while a local cluster starts; yield a list that records one if it came.

    A terminal sends Ctrl-C to every process of its foreground group: a local
    Dask cluster's worker processes would each die printing a traceback, so
    they must not take it (they are stopped by closing the cluster instead).
    Ignoring SIGINT here while they start (SIG_IGN, which children inherit)
    did that, but also dropped a Ctrl-C pressed during those seconds: the
    sweep then ran to completion. Instead:

    - SIGINT is blocked in this thread. Threads started meanwhile (Dask's IO
      loop, and its per-process watcher threads that start the workers)
      inherit the blocked mask, and so do the worker processes they start
      (``fork`` and ``exec`` keep the mask): the workers never take a Ctrl-C,
      nor do workers Dask restarts later. One thing unblocks it: starting
      multiprocessing's resource tracker, which the first ``spawn`` does,
      blocks SIGINT around the tracker's launch and then *unblocks* it in the
      launching thread (``multiprocessing/resource_tracker.py``,
      ``ensure_running``), so a worker spawned next would take Ctrl-C again.
      The tracker is started here first, before the mask changes.
    - This process's Python handler only records the Ctrl-C (whichever thread
      the kernel hands it to, Python runs the handler in the main thread),
      and the previous handler is back on exit. The caller raises
      KeyboardInterrupt once the cluster is up and closed again.

    Outside the main thread no handler can be set: only the mask is changed,
    and a Ctrl-C goes to the main thread's handler as usual. Where there is
    no ``pthread_sigmask`` (Windows) nothing is changed.
    """
    caught: list[int] = []
    if not hasattr(signal, "pthread_sigmask"):
        yield caught
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum)) \
        if main else None
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield caught
    finally:
        # a Ctrl-C held back by the mask is handled (recorded) as it is unblocked
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if main:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


class DaskExecutor:
    """Run batches on a Dask distributed cluster.

    Parameters
    ----------
    target:
        ``"local"`` to start a ``LocalCluster`` of ``jobs`` single-threaded
        worker processes for this sweep, a scheduler address such as
        ``"tcp://host:8786"``, or a ``distributed.Client`` (left open).
    jobs:
        Workers of a local cluster.
    """

    def __init__(self, target: Any, jobs: int, *, window: int | None = None) -> None:
        self.target = target
        self.jobs = jobs
        self._window = window
        self._client = None
        self._cluster = None
        self._own_client = False
        self.workers = jobs

    def __enter__(self) -> "DaskExecutor":
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise AccelsimError("--dask needs Dask distributed: pip install "
                                "'accelsim[dask]'") from None
        if isinstance(self.target, str):
            self._own_client = True
            try:
                if self.target == "local":
                    with _sigint_held_for_start_up() as ctrl_c:
                        self._cluster = LocalCluster(
                            n_workers=self.jobs, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.CRITICAL)
                    if ctrl_c:  # pressed while the cluster started: stop now, not at the end
                        raise KeyboardInterrupt
                    self._client = Client(self._cluster)
                else:
                    self._client = Client(self.target)
            except (OSError, ValueError) as exc:  # unreachable, or refused by Dask
                self._close()
                raise AccelsimError(f"cannot reach the Dask scheduler at {self.target} "
                                    f"({exc})") from None
            except BaseException:  # Ctrl-C: __exit__ will not run, so close here
                self._close()
                raise
        else:
            self._client = self.target
        self.workers = max(1, sum(self._client.nthreads().values()))
        return self

    def _close(self) -> None:
        # Closing a cluster whose tasks were cancelled (Ctrl-C) makes Dask log
        # warnings about each of them: the sweep says it was interrupted instead.
        quiet = logging.getLogger("distributed")
        level = quiet.level
        if self._cluster is not None:
            quiet.setLevel(logging.CRITICAL)
        try:
            if self._own_client and self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
        finally:
            quiet.setLevel(level)
            self._client = self._cluster = None

    def __exit__(self, *exc) -> None:
        self._close()

    def run(self, fn: Callable, batches: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed

        window = self._window or 4 * self.workers
        todo = iter(batches)
        futures = as_completed(loop=self._client.loop)
        in_flight = 0

        def submit() -> int:
            batch = next(todo, None)
            if batch is None:
                return 0
            futures.add(self._client.submit(fn, batch, pure=False))
            return 1

        while in_flight < window and submit():
            in_flight += 1
        try:
            for future in futures:
                result = future.result()
                future.release()
                in_flight -= 1
                in_flight += submit()
                yield result
        finally:
            for future in list(futures.futures):
                future.cancel()
