"""Per-series work on Ray (``growth.backend=ray``, the ``ray`` extra): the same module-level
function over the same items as the worker processes of ``runs.shared.map_series`` and
``runs.local``, as Ray tasks on this machine or a cluster, so the results are the same.

Ray is started (or joined) once per process, on first use: ``growth.ray_address`` null starts a
local Ray of ``workers`` CPUs (or joins the cluster in ``RAY_ADDRESS``, which Ray reads itself),
``auto`` joins the cluster that ``ray start --head`` started on this machine, ``ray://host:10001``
a remote one (whose nodes need growlstm installed, as the driver's). A Ray that the caller started
already (``ray.init(...)``) is used as it is.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

from growlstm.config import Config

T = TypeVar("T")
log = logging.getLogger("growlstm")


def start_ray(config: Config, workers: int) -> int:
    """Ray started or joined (once per process); the CPUs it offers, so the caller can chunk."""
    import ray

    if not ray.is_initialized():
        address = config.growth.ray_address
        local = address is None and not os.environ.get("RAY_ADDRESS")
        extra: dict[str, Any] = {"num_cpus": workers, "include_dashboard": False} if local else {}
        # The console is for the forecaster: Ray's start-up lines and its workers' output stay out
        # of it unless verbose (a worker's growlstm lines go to the series' growlstm.log anyway).
        ray.init(address=address, log_to_driver=config.verbose, ignore_reinit_error=True,
                 logging_level=logging.INFO if config.verbose else logging.WARNING, **extra)
        log.info("growlstm: Ray %s, %d CPU(s)", "started on this machine" if local else f"joined at {address or 'RAY_ADDRESS'}",
                 ray_cpus(workers))
    return ray_cpus(workers)


def ray_cpus(default: int) -> int:
    """The CPUs of the Ray cluster this process is connected to."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", default)))


def _quiet_task() -> None:
    # As runs.shared.quiet_worker: a task reports through its result, not the console. (Ray handles
    # Ctrl-C itself: the driver cancels the tasks.)
    logging.getLogger("growlstm").setLevel(logging.WARNING)
    logging.getLogger("growlstm").propagate = False


def _chunk(fn: Callable[..., T], chunk: Sequence[tuple[Any, ...]]) -> list[T]:
    _quiet_task()
    return [fn(*args) for args in chunk]


def ray_each(fn: Callable[..., T], items: Sequence[tuple[Any, ...]], config: Config, workers: int,
             size: Optional[int] = None) -> Iterator[tuple[int, list[T] | BaseException]]:
    """``fn(*args)`` for every item as Ray tasks of ``size`` items each (None: about four chunks
    per CPU, few round trips), yielded as they finish: (index of the chunk's first item, its
    results, or the exception that ended the chunk: a raised error or a lost worker)."""
    import ray

    cpus = start_ray(config, workers)
    size = size or max(1, math.ceil(len(items) / (cpus * 4)))
    task = ray.remote(num_cpus=1, max_retries=0)(_chunk)
    refs = {task.remote(fn, items[i : i + size]): i for i in range(0, len(items), size)}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                yield refs[ready[0]], ray.get(ready[0])
            except Exception as err:  # noqa: BLE001 - the caller decides (raise, or record the series)
                yield refs[ready[0]], getattr(err, "cause", None) or err
    except (KeyboardInterrupt, GeneratorExit):  # don't leave tasks training on the cluster
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def ray_map(fn: Callable[..., T], items: Sequence[tuple[Any, ...]], config: Config, workers: int,
            update: Callable[[int], Any]) -> list[T]:
    """``fn(*args)`` for every item, in item order, on Ray; ``update(k)`` as k more are done. A
    task's error is raised here, as the worker processes' would be."""
    done: dict[int, list[T]] = {}
    for start, out in ray_each(fn, items, config, workers):
        if isinstance(out, BaseException):
            raise out
        done[start] = out
        update(len(out))
    return [r for start in sorted(done) for r in done[start]]
