import threading

import pytest

from app.pipeline.prefetch import prefetch


def test_prefetch_keeps_order_and_runs_in_another_thread():
    seen_threads = set()

    def numbers():
        for i in range(50):
            seen_threads.add(threading.current_thread().name)
            yield i

    assert list(prefetch(numbers(), ahead=3)) == list(range(50))
    assert seen_threads == {"veil-prefetch"}


def test_prefetch_raises_producer_errors_in_place():
    def failing():
        yield 1
        yield 2
        raise ValueError("frame 3 is broken")

    got = []
    with pytest.raises(ValueError, match="frame 3"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_stops_producer_when_consumer_stops():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    for item in prefetch(endless(), ahead=2):
        if item == 5:
            break
    count = len(produced)
    assert count < 20
    threading.Event().wait(0.3)
    assert len(produced) == count  # nothing more was produced after the stop


def test_prefetch_rejects_bad_ahead():
    with pytest.raises(ValueError, match="ahead"):
        list(prefetch([], ahead=0))
