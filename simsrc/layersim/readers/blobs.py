"""Streaming the distinct layer blobs of a read, several at a time.

Each blob is independent of the others (its own file, its own digests, its own `Layer`), and
reading one is almost all hashing and decompression, which release the GIL: blobs read on a
few threads at once use as many cores. `read_layers` runs a small pool of worker threads over
the blobs, largest first (so that the longest blob starts at once and the small ones fill in
around it), and hands back the layers in the order asked, whatever the threads' timing.

What the caller sees does not depend on the threads either:

- progress is reported on the calling thread, in stored bytes, as the blobs are streamed;
- a bad blob fails the read with the error the same read one blob at a time would give: that
  of the first failing blob in the order asked. Blobs after it are abandoned as soon as it
  fails; blobs before it are finished, as one of them may fail too and take precedence.

A large blob still runs its own pipeline threads inside (`layer_blob`), so that the last blobs
to finish, or a single large one, keep more than one core busy. Memory stays a few MiB per
worker.

This module knows nothing of formats or of tar; `layer_blob` reads one blob.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from layersim.model import Layer
from layersim.model.sizes import CompressionModel
from layersim.readers.chunking import Chunking
from layersim.readers.layer_blob import read_layer
from layersim.readers.plan import LayerPlan

# Blobs read at once, at most (and never more than the cores: past them, workers only add
# switching). Each holds a few MiB in flight (`layer_blob`'s chunks, pieces and queues).
MAX_WORKERS = 8


def available_cores() -> int:
    """Cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Event(IntEnum):
    """What a worker reports to the calling thread, as (event, value, payload)."""

    BYTES = 0  # `value` stored bytes streamed
    LAYER = 1  # blob `value` read: payload its Layer
    FAILED = 2  # blob `value` failed: payload the exception
    EXITED = 3  # the worker has no more blobs to read


class _Abandoned(Exception):
    """Raised inside a worker's read once an earlier blob has failed: its result is moot."""


@dataclass(slots=True)
class _Failure:
    index: int
    error: BaseException


def read_layers(
    plans: Sequence[LayerPlan],
    compression: CompressionModel,
    on_bytes: Callable[[int], None] | None = None,
    workers: int | None = None,
    chunking: Chunking | None = None,
) -> list[Layer]:
    """The `Layer` of every plan's blob, in the order of `plans`, read on up to `workers`
    threads (default: one per available core); with `chunking`, every file is also cut into
    chunks (collected there).

    `on_bytes(n)` is called on the calling thread as every `n` stored bytes are streamed.
    """
    n_workers = min(len(plans), workers or min(available_cores(), MAX_WORKERS))
    if n_workers <= 1:
        return [_read_one(plan, compression, on_bytes, chunking) for plan in plans]
    return _Pool(plans, compression, n_workers, chunking).run(on_bytes)


def _read_one(
    plan: LayerPlan,
    compression: CompressionModel,
    on_bytes: Callable[[int], None] | None,
    chunking: Chunking | None = None,
) -> Layer:
    with plan.source.open(plan.member) as file:
        return read_layer(file, plan.blob, compression, on_bytes, chunking)


class _Pool:
    """Worker threads taking blobs from a shared, largest-first order; everything they
    report (bytes streamed, a layer read, a failure) goes through one queue to the caller."""

    def __init__(
        self,
        plans: Sequence[LayerPlan],
        compression: CompressionModel,
        n_workers: int,
        chunking: Chunking | None = None,
    ) -> None:
        self._plans = plans
        self._chunking = chunking
        self._compression = compression
        self._n_workers = n_workers
        order = sorted(range(len(plans)), key=lambda i: (-plans[i].blob.stored_bytes, i))
        self._todo = iter(order)
        self._lock = threading.Lock()  # guards `_todo`
        # the index of the earliest failed blob so far: blobs after it are abandoned
        self._failed_at = len(plans)
        self._events: queue.SimpleQueue[tuple[_Event, int, object]] = queue.SimpleQueue()

    def _next(self) -> int | None:
        with self._lock:
            for index in self._todo:
                if index < self._failed_at:
                    return index
            return None

    def _work(self) -> None:
        events = self._events
        try:
            while (index := self._next()) is not None:

                def on_bytes(n_bytes: int, index: int = index) -> None:
                    if index > self._failed_at:
                        raise _Abandoned
                    events.put((_Event.BYTES, n_bytes, None))

                try:
                    layer = _read_one(
                        self._plans[index], self._compression, on_bytes, self._chunking
                    )
                except _Abandoned:
                    continue
                except BaseException as exc:  # re-raised on the caller's thread, in order
                    with self._lock:
                        self._failed_at = min(self._failed_at, index)
                    events.put((_Event.FAILED, index, exc))
                    continue
                events.put((_Event.LAYER, index, layer))
        finally:
            events.put((_Event.EXITED, 0, None))

    def run(self, on_bytes: Callable[[int], None] | None) -> list[Layer]:
        layers: list[Layer | None] = [None] * len(self._plans)
        failures: list[_Failure] = []
        threads = [
            threading.Thread(target=self._work, name=f"layersim-blob-{i}", daemon=True)
            for i in range(self._n_workers)
        ]
        for thread in threads:
            thread.start()
        running = len(threads)
        try:
            while running:
                kind, value, payload = self._events.get()
                if kind is _Event.BYTES:
                    if on_bytes is not None:
                        on_bytes(value)
                elif kind is _Event.LAYER:
                    layers[value] = payload  # type: ignore[assignment]
                elif kind is _Event.FAILED:
                    failures.append(_Failure(value, payload))  # type: ignore[arg-type]
                else:
                    running -= 1
        except BaseException:
            self._failed_at = -1  # the caller gives up (an interrupt): abandon every blob
            raise
        finally:
            for thread in threads:
                thread.join()
        if failures:
            raise min(failures, key=lambda f: f.index).error
        return layers  # type: ignore[return-value]
