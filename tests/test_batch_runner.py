"""Batch orchestration on a real Dask LocalCluster, with small per-county tasks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from netplan.batch.runner import (
    DONE_FILE,
    CountyJob,
    discover_counties,
    input_hash,
    make_jobs,
    run_batch,
    start_client,
)
from netplan.errors import InputError


def _region(tmp_path: Path, names: tuple[str, ...] = ("A", "B", "C")) -> tuple[Path, Path]:
    region = tmp_path / "region"
    for n in names:
        d = region / n
        d.mkdir(parents=True)
        (d / "county.toml").write_text(f'name = "{n}"\n', encoding="utf-8")
        (d / "villages.csv").write_text("village_id,population\n1,100\n", encoding="utf-8")
    (region / "notes").mkdir()  # not a county: no county.toml
    scen = tmp_path / "s.toml"
    scen.write_text('name = "s"\n', encoding="utf-8")
    return region, scen


def write_marker(job: CountyJob, scenario_path: Path, *, maps: bool = True) -> dict:
    """A tiny county task: writes one file and reports the worker's pid."""
    Path(job.out_dir).mkdir(parents=True, exist_ok=True)
    text = (Path(job.county_dir) / "county.toml").read_text(encoding="utf-8")
    (Path(job.out_dir) / "kpis.csv").write_text(text, encoding="utf-8")
    if "B" in job.name and os.environ.get("NETPLAN_TEST_FAIL_B"):
        raise RuntimeError("boom in B")
    return {"pid": os.getpid()}


def fail_on_b(job: CountyJob, scenario_path: Path, *, maps: bool = True) -> dict:
    """Fails for county B with a netplan error, succeeds elsewhere."""
    if job.name == "B":
        raise InputError("villages.csv: population must be ≥ 0", file="villages.csv", row=3,
                         field="population")
    return write_marker(job, scenario_path, maps=maps)


@pytest.fixture(scope="module")
def client():
    c, cluster = start_client(workers=2)
    yield c
    c.close()
    cluster.close()


def test_discover_counties_lists_only_folders_with_county_toml(tmp_path):
    """Sub-folders without county.toml are ignored; an empty region is an InputError."""
    region, _ = _region(tmp_path)
    assert [p.name for p in discover_counties(region)] == ["A", "B", "C"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no county folder"):
        discover_counties(tmp_path / "empty")
    with pytest.raises(InputError, match="not found"):
        discover_counties(tmp_path / "missing")


def test_input_hash_changes_with_county_files_and_scenario(tmp_path):
    """The hash is stable, and changes when a county file, the scenario or the salt changes."""
    region, scen = _region(tmp_path)
    h = input_hash(region / "A", scen)
    assert h == input_hash(region / "A", scen)
    assert h != input_hash(region / "B", scen)  # county.toml differs
    assert h != input_hash(region / "A", scen, salt="maps=False")
    (region / "A" / "villages.csv").write_text("village_id,population\n1,101\n", encoding="utf-8")
    h2 = input_hash(region / "A", scen)
    assert h2 != h
    scen.write_text('name = "t"\n', encoding="utf-8")
    assert input_hash(region / "A", scen) != h2
    (region / "A" / ".hidden").write_text("x", encoding="utf-8")  # hidden files do not count
    assert input_hash(region / "A", scen) == input_hash(region / "A", scen)


def test_make_jobs_only_rejects_unknown_names(tmp_path):
    """--only names must be county folders of the region."""
    region, scen = _region(tmp_path)
    assert [j.name for j in make_jobs(region, scen, tmp_path / "out", only=["C"])] == ["C"]
    with pytest.raises(InputError, match="no county folder named Z"):
        make_jobs(region, scen, tmp_path / "out", only=["Z"])


def test_batch_runs_on_two_processes_and_skips_done_counties(tmp_path, client):
    """All counties run on worker processes; a re-run skips them; a changed county re-runs."""
    region, scen = _region(tmp_path)
    out = tmp_path / "out"
    seen: list[tuple[str, int, int]] = []
    res = run_batch(region, scen, out, client=client, task=write_marker,
                    on_result=lambda r, i, n: seen.append((r.name, i, n)))
    assert [c.status for c in res.counties] == ["done"] * 3
    assert sorted(s[0] for s in seen) == ["A", "B", "C"] and [s[1] for s in seen] == [1, 2, 3]
    assert all(c.peak_rss_mb and c.peak_rss_mb > 10 for c in res.counties)
    pids = {json.loads((out / "counties" / n / DONE_FILE).read_text())["pid"] for n in "ABC"}
    assert os.getpid() not in pids  # ran in worker processes, not here
    assert res.n_workers == 2

    res2 = run_batch(region, scen, out, client=client, task=write_marker)
    assert [c.status for c in res2.counties] == ["skipped"] * 3

    (region / "B" / "villages.csv").write_text("village_id,population\n1,5\n", encoding="utf-8")
    res3 = run_batch(region, scen, out, client=client, task=write_marker)
    assert [c.status for c in res3.counties] == ["skipped", "done", "skipped"]
    res4 = run_batch(region, scen, out, client=client, task=write_marker, force=True)
    assert [c.status for c in res4.counties] == ["done"] * 3


def test_one_failing_county_is_reported_and_the_rest_complete(tmp_path, client):
    """A county that raises is 'failed' with its error; others finish; re-run retries only it."""
    region, scen = _region(tmp_path)
    out = tmp_path / "out"
    res = run_batch(region, scen, out, client=client, task=fail_on_b)
    st = {c.name: c for c in res.counties}
    assert st["A"].status == st["C"].status == "done"
    assert st["B"].status == "failed" and st["B"].error_kind == "InputError"
    assert "population must be ≥ 0" in st["B"].error and "row 3" in st["B"].error
    assert not (out / "counties" / "B" / DONE_FILE).exists()
    assert [c.name for c in res.failed] == ["B"]
    res2 = run_batch(region, scen, out, client=client, task=write_marker)
    assert [c.status for c in res2.counties] == ["skipped", "done", "skipped"]


def test_scheduler_address_connects_to_an_existing_cluster(tmp_path, client):
    """Given a scheduler address, the batch uses that cluster (and leaves it running)."""
    region, scen = _region(tmp_path, ("A",))
    res = run_batch(region, scen, tmp_path / "out", scheduler=client.scheduler.address,
                    task=write_marker)
    assert res.counties[0].status == "done"
    assert res.scheduler == client.scheduler.address
    assert client.submit(sum, [1, 2]).result() == 3  # the cluster still runs


def test_unreachable_scheduler_is_an_input_error(tmp_path):
    """A scheduler address nobody listens on gives a clear InputError, not a hang."""
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        start_client("tcp://127.0.0.1:9", connect_timeout_s=2)


def test_local_cluster_listens_on_loopback_only(client):
    """Scheduler and worker processes open no listening socket beyond 127.0.0.1."""
    import psutil

    procs = [psutil.Process(), *psutil.Process().children(recursive=True)]  # scheduler, nannies, workers
    assert set(client.run(os.getpid).values()) <= {p.pid for p in procs}
    listening = [c for p in procs for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}


@pytest.mark.parametrize(("line", "want"), [("", "relax"), ('unreachable = "stop"\n', "stop")])
def test_plan_county_relaxes_unreachable_targets_unless_the_scenario_says_stop(tmp_path, monkeypatch,
                                                                              line, want):
    """In a batch a county plans for what it can reach (scenario key unset → "relax"); a scenario
    that says ``unreachable = "stop"`` keeps the single-county behaviour."""
    import netplan.planner
    from netplan._paths import data_file
    from netplan.batch.runner import plan_county

    seen = {}

    def fake_run_plan(scenario, **kw):
        seen["unreachable"] = scenario.unreachable
        raise InputError("stop here")

    monkeypatch.setattr(netplan.planner, "run_plan", fake_run_plan)
    county = tmp_path / "c"
    county.mkdir()
    demo = data_file("scenarios", "demo.toml").read_text(encoding="utf-8")
    scen = tmp_path / "s.toml"
    scen.write_text(line + demo.replace('county = "../demo"', f'county = "{county.as_posix()}"'),
                    encoding="utf-8")
    job = CountyJob(name="c", county_dir=county, out_dir=tmp_path / "o", input_hash="x")
    with pytest.raises(InputError, match="stop here"):
        plan_county(job, scen, maps=False)
    assert seen["unreachable"] == want
