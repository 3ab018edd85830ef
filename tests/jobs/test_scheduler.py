"""conveyor.jobs.Scheduler: periodic jobs in one thread, errors logged and retried."""

from __future__ import annotations

import logging
import threading

import pytest

from conveyor.jobs import Scheduler


def test_job_runs_at_start_and_repeats_until_stopped() -> None:
    calls: list[int] = []
    scheduler = Scheduler("test-jobs")
    job = scheduler.every(0.01, lambda: calls.append(1) or len(calls), name="count")
    with scheduler:
        assert scheduler.running
        assert job.wait_for_runs(3, timeout=30)
    assert not scheduler.running
    done = job.runs
    assert done >= 3 and job.last_result >= 3 and job.last_error is None
    assert len(calls) == done  # nothing runs after stop()


def test_a_failing_job_is_logged_kept_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler = Scheduler("test-jobs")

    def broken() -> None:
        raise RuntimeError("store down")

    bad = scheduler.every(0.01, broken, name="broken")
    good = scheduler.every(0.01, lambda: "ok", name="good")
    with caplog.at_level(logging.ERROR, "conveyor.jobs"), scheduler:
        assert bad.wait_for_runs(2, timeout=30) and good.wait_for_runs(2, timeout=30)
    assert bad.last_error == "RuntimeError('store down')"
    assert good.last_result == "ok" and good.last_error is None
    assert "job broken failed" in caplog.text


def test_run_once_runs_every_job_in_the_calling_thread() -> None:
    threads: list[str] = []
    scheduler = Scheduler("test-jobs")
    scheduler.every(3600, lambda: threads.append(threading.current_thread().name), name="a")
    scheduler.every(3600, lambda: threads.append(threading.current_thread().name), name="b")
    scheduler.run_once()
    assert threads == [threading.current_thread().name] * 2
    assert not scheduler.running


def test_run_at_start_false_waits_one_interval_and_stop_interrupts_the_wait() -> None:
    scheduler = Scheduler("test-jobs")
    job = scheduler.every(3600, lambda: None, name="hourly", run_at_start=False)
    scheduler.start()
    scheduler.stop(timeout=10)
    assert job.runs == 0 and not scheduler.running


def test_a_job_added_while_running_is_picked_up() -> None:
    scheduler = Scheduler("test-jobs")
    scheduler.every(3600, lambda: None, name="hourly", run_at_start=False)
    with scheduler:
        late = scheduler.every(0.01, lambda: None, name="late")
        assert late.wait_for_runs(2, timeout=30)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        Scheduler().every(0, lambda: None, name="x")


def test_stopping_event_lets_a_long_job_end_early() -> None:
    scheduler = Scheduler("test-jobs")
    started = threading.Event()

    def long_job() -> str:
        started.set()
        return "stopped" if scheduler.stopping.wait(60) else "timed out"

    job = scheduler.every(3600, long_job, name="long")
    scheduler.start()
    assert started.wait(30)
    scheduler.stop(timeout=30)
    assert job.last_result == "stopped" and not scheduler.running
