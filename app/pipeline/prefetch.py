"""Run a generator in a background thread, a bounded number of items ahead.

Decoding (FFmpeg) and detection (ONNX Runtime) both release the GIL, so producing the next
frames while the current one is detected overlaps them on two cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], ahead: int = 8) -> Iterator[T]:
    """Yield the items of ``items`` in order, produced in a thread up to ``ahead`` in advance.

    An exception in the producer is raised in the consumer at the same position. When the
    consumer stops early (break, exception, generator closed), the producer stops too.
    """
    if ahead < 1:
        raise ValueError(f"ahead must be >= 1, got {ahead!r}")
    buffer: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(_Failure(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="veil-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
