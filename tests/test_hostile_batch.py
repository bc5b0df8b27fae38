"""Batch tables never show stack frames: a county that fails with a bug is reported as an
internal error with what to do; a user mistake keeps its message."""

from __future__ import annotations

from netplan.batch.runner import CountyJob, _run_task
from netplan.cli.batch import short_error
from netplan.errors import InputError


def _job(tmp_path) -> CountyJob:
    return CountyJob(name="A", county_dir=tmp_path, out_dir=tmp_path / "out", input_hash="h")


def test_bug_in_a_county_has_no_stack_frames(tmp_path):
    """A ZeroDivisionError inside a county's plan: 'internal error', no 'File ...' lines."""
    def task(job):
        return 1 / 0

    r = _run_task(task, _job(tmp_path), (), {})
    assert r.status == "failed" and r.error_kind == "ZeroDivisionError"
    assert r.error.startswith("internal error (ZeroDivisionError): division by zero")
    assert "File " not in r.error and "Traceback" not in r.error and "\n" not in r.error
    assert "NETPLAN_DEBUG=1" in short_error(r.error)


def test_user_mistake_keeps_its_message(tmp_path):
    """An InputError in a county is shown as it is (file, row, field)."""
    def task(job):
        raise InputError("not a number: 'N/A'", file="villages.csv", row=3, field="population")

    r = _run_task(task, _job(tmp_path), (), {})
    assert r.error == "villages.csv, row 3, field 'population': not a number: 'N/A'"
