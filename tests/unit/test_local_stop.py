"""How `inspector local` hears Ctrl-C: as a flag its loop checks, never as an exception that can be lost."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from inspector.commands.local import _stop_on_signals


@pytest.fixture(autouse=True)
def default_ctrl_c() -> Iterator[None]:
    """Python's own SIGINT handler, whatever the runner inherited (a background job ignores SIGINT)."""
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, inherited)


class _Finalized:
    """Its finalizer is where the interrupt arrives (as a file the SDK left open, closed by gc)."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)
        sum(range(100))  # bytecode after the signal: Python runs its handler here, inside the finalizer


def test_a_ctrl_c_that_lands_in_a_finalizer_still_stops_the_session() -> None:
    stop = threading.Event()

    with _stop_on_signals(stop):
        finalized = _Finalized()
        del finalized

    assert stop.is_set()


def test_the_probe_loses_a_keyboard_interrupt_raised_in_a_finalizer(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the flag prevents: Python reports an exception raised in a finalizer and drops it.
    dropped: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    finalized = _Finalized()
    del finalized

    assert [KeyboardInterrupt] == [item.exc_type for item in dropped]


def test_a_second_ctrl_c_interrupts_and_the_handlers_are_restored_after() -> None:
    stop = threading.Event()
    before_term = signal.getsignal(signal.SIGTERM)

    with _stop_on_signals(stop):
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the previous handler again

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is before_term


def test_sigterm_sets_the_flag_too() -> None:
    stop = threading.Event()

    with _stop_on_signals(stop):
        signal.raise_signal(signal.SIGTERM)

    assert stop.is_set()


def test_a_session_started_in_the_background_keeps_ignoring_ctrl_c() -> None:
    # A shell starts a background job with SIGINT ignored, so that Ctrl-C at the terminal spares it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()

    with _stop_on_signals(stop):
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)

    assert not stop.is_set()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
