"""CVRP core: the CVRPLIB reader, route checker and solve_cvrp on both backends."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan.errors import InfeasibleError, InputError
from netplan.routing import check_routes, read_sol, read_vrp, solve_cvrp
from netplan.routing.solution import route_length, solution_cost

DATA = Path(__file__).parent / "data" / "cvrp"
BACKENDS = ["ortools", "pyvrp"]


def _euclid(xy: np.ndarray) -> np.ndarray:
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))


def _brute_force(d: np.ndarray, q: np.ndarray, cap: float) -> float:
    """Optimal CVRP cost by enumerating set partitions and the best order of every part."""
    n = len(q) - 1
    best_tsp: dict[frozenset, float] = {}

    def tsp(part: frozenset) -> float:
        if part not in best_tsp:
            best_tsp[part] = min(route_length(d, list(p)) for p in itertools.permutations(part))
        return best_tsp[part]

    def partitions(items: list[int]):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for k in range(len(rest) + 1):
            for others in itertools.combinations(rest, k):
                part = frozenset((first, *others))
                if sum(q[i] for i in part) > cap + 1e-9:
                    continue
                left = [i for i in rest if i not in others]
                for tail in partitions(left):
                    yield [part, *tail]

    return min(sum(tsp(p) for p in parts) for parts in partitions(list(range(1, n + 1))))


def test_reader_recomputes_best_known_costs():
    """The .vrp reader (depot first, rounded EUC_2D) and the .sol reader reproduce the BKS costs."""
    for name, bks, routes_n in [("A-n32-k5", 784, 5), ("P-n16-k8", 450, 8), ("X-n101-k25", 27591, 26)]:
        inst = read_vrp(DATA / f"{name}.vrp.gz")
        routes, cost = read_sol(DATA / f"{name}.sol.gz")
        assert cost == bks and len(routes) == routes_n
        assert inst.demand[0] == 0 and inst.distance.shape == (len(inst.demand),) * 2
        assert solution_cost(inst.distance, routes) == bks
        assert check_routes(routes, inst.demand, inst.capacity) == []


def test_reader_reads_plain_text_and_first_node_as_depot(tmp_path):
    """A plain-text .vrp with the depot listed last is reordered so the depot is index 0."""
    text = ("NAME : t\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
            "NODE_COORD_SECTION\n1 3 4\n2 6 8\n3 0 0\nDEMAND_SECTION\n1 2\n2 5\n3 0\n"
            "DEPOT_SECTION\n3\n-1\nEOF\n")
    p = tmp_path / "t.vrp"
    p.write_text(text)
    inst = read_vrp(p)
    assert inst.demand.tolist() == [0, 2, 5]
    assert inst.distance[0, 1] == 5 and inst.distance[0, 2] == 10 and inst.distance[1, 2] == 5
    gz = tmp_path / "t.vrp.gz"
    with gzip.open(gz, "wt") as f:
        f.write(text)
    assert np.array_equal(read_vrp(gz).distance, inst.distance)


def test_reader_rejects_missing_capacity(tmp_path):
    """A .vrp without CAPACITY raises InputError naming the file."""
    p = tmp_path / "bad.vrp"
    p.write_text("NAME : t\nDIMENSION : 2\nNODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n")
    with pytest.raises(InputError, match="bad.vrp"):
        read_vrp(p)


def test_check_routes_finds_every_kind_of_error():
    """check_routes reports missing and repeated customers, bad indices and overloads."""
    demand = np.array([0, 3, 3, 3])
    assert check_routes([[1, 2], [3]], demand, 6) == []
    probs = check_routes([[1, 2, 2], [0, 5]], demand, 6)
    text = " ".join(probs)
    assert "never visited: [3]" in text and "more than once: [2]" in text
    assert "load 9 > capacity 6" in text and "index 0 out of" in text and "index 5 out of" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiny_instance_matches_brute_force(backend):
    """On 7 random customers both backends find the brute-force optimum."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, (8, 2))
    d = np.round(_euclid(xy))
    q = np.concatenate([[0], rng.integers(1, 5, 7)])
    opt = _brute_force(d, q, 8)
    sol = solve_cvrp(d, q, 8, time_limit_s=1, backend=backend)
    assert check_routes(sol.routes, q, 8) == []
    assert sol.cost == pytest.approx(opt)
    assert sol.vehicles_used == len(sol.routes) and sol.status == "feasible"


@pytest.mark.parametrize("backend", BACKENDS)
def test_fractional_distances_and_demands_keep_their_precision(backend):
    """Distances below 1 (km) and demands in fractions of a tonne are scaled, not truncated:
    the optimum equals the brute-force optimum on the float data and a 0.3+0.3+0.4 t load
    fits exactly into a 1.0 t vehicle."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 0.9, (7, 2))
    d = _euclid(xy)
    q = np.array([0, 0.3, 0.3, 0.4, 0.25, 0.35, 0.4])
    opt = _brute_force(d, q, 1.0)
    sol = solve_cvrp(d, q, 1.0, time_limit_s=1, backend=backend)
    assert check_routes(sol.routes, q, 1.0) == []
    assert sol.cost == pytest.approx(opt, rel=1e-6)
    exact = solve_cvrp(d[:4, :4], q[:4], 1.0, time_limit_s=0.5, backend=backend)
    assert exact.vehicles_used == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_duration_limit_splits_routes(backend):
    """Four customers 5 min apart in a line with 400 s service and a 60 min route limit cannot
    share one route (40 min travel + 1600 s service = 4000 s); without the limit one route
    serves them."""
    x = np.array([0, 300, 600, 900, 1200.0])
    d = np.abs(x[:, None] - x[None, :])  # seconds = metres at 1 m/s
    q = np.array([0, 1, 1, 1, 1])
    free = solve_cvrp(d, q, 10, time_limit_s=0.5, backend=backend)
    assert free.vehicles_used == 1 and free.cost == 2400
    lim = solve_cvrp(d, q, 10, service_time_s=400, travel_time=d, max_duration_s=3600,
                     time_limit_s=0.5, backend=backend)
    assert lim.vehicles_used >= 2
    for r in lim.routes:
        assert route_length(d, r) + 400 * len(r) <= 3600


def test_unservable_customers_raise_infeasible():
    """A customer heavier than a vehicle, or too far for the route limit, is named in the error."""
    d = np.array([[0, 1, 50], [1, 0, 50], [50, 50, 0.0]])
    with pytest.raises(InfeasibleError) as e:
        solve_cvrp(d, np.array([0, 5, 20]), 10, time_limit_s=0.2)
    assert [u.index for u in e.value.unservable] == [2]
    with pytest.raises(InfeasibleError) as e:
        solve_cvrp(d, np.array([0, 1, 1]), 10, max_duration_s=60, time_limit_s=0.2)
    assert [u.index for u in e.value.unservable] == [2]


def test_bad_inputs_raise_input_error():
    """Non-square matrices, a depot demand and an unknown backend are input errors."""
    with pytest.raises(InputError):
        solve_cvrp(np.zeros((2, 3)), np.zeros(2), 1)
    with pytest.raises(InputError, match="depot"):
        solve_cvrp(np.zeros((2, 2)), np.array([1, 1]), 1)
    with pytest.raises(InputError, match="backend"):
        solve_cvrp(np.zeros((2, 2)), np.array([0, 1]), 1, backend="gurobi")


@pytest.mark.parametrize("backend", BACKENDS)
def test_fleet_limit_is_respected(backend):
    """With n_vehicles=2 and loads that need two full vehicles, exactly two routes are used."""
    rng = np.random.default_rng(5)
    d = np.round(_euclid(rng.uniform(0, 50, (7, 2))))
    q = np.array([0, 5, 5, 5, 5, 5, 5])
    sol = solve_cvrp(d, q, 15, n_vehicles=2, time_limit_s=0.5, backend=backend)
    assert sol.vehicles_used == 2 and check_routes(sol.routes, q, 15) == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 9), backend=st.sampled_from(BACKENDS))
def test_random_instances_give_valid_routes(seed, n, backend):
    """Any small instance: each customer exactly once, capacity held, cost = recomputed cost."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (n + 1, 2))
    d = _euclid(xy)
    q = np.concatenate([[0], rng.uniform(0.1, 3.0, n)])
    cap = float(rng.uniform(3.0, 8.0))
    sol = solve_cvrp(d, q, cap, time_limit_s=0.2, backend=backend, seed=seed)
    assert check_routes(sol.routes, q, cap) == []
    assert sol.cost == pytest.approx(solution_cost(d, sol.routes))


def test_x_instance_near_best_known_with_default_backend():
    """X-n101-k25 (BKS 27591) within 1 % with the default backend after 5000 PyVRP iterations
    (~2.5 s of CPU; an iteration budget keeps the result independent of machine load, the
    30 s wall-clock limit is only a safety net)."""
    inst = read_vrp(DATA / "X-n101-k25.vrp.gz")
    sol = solve_cvrp(inst.distance, inst.demand, inst.capacity, time_limit_s=30,
                     max_iterations=5000)
    assert sol.backend == "pyvrp"
    assert check_routes(sol.routes, inst.demand, inst.capacity) == []
    assert sol.cost <= 27591 * 1.01


def test_ortools_near_optimum_on_augerat_a():
    """OR-Tools with guided local search: A-n32-k5 (optimum 784) within 3 % in 1 s."""
    inst = read_vrp(DATA / "A-n32-k5.vrp.gz")
    sol = solve_cvrp(inst.distance, inst.demand, inst.capacity, time_limit_s=1, backend="ortools")
    assert check_routes(sol.routes, inst.demand, inst.capacity) == []
    assert 784 <= sol.cost <= 784 * 1.03


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_arcs_are_never_used(backend):
    """An ``inf`` arc (no road between two customers) is avoided: the two customers go on
    separate routes although one route would fit their demand, and the cost stays finite."""
    d = np.array([[0, 10, 10], [10, 0, np.inf], [10, np.inf, 0.0]])
    d[2, 1] = np.inf
    sol = solve_cvrp(d, np.array([0, 1, 1]), 5, time_limit_s=0.3, backend=backend)
    assert sorted(sol.routes) == [[1], [2]] and sol.cost == 40


def test_reader_explicit_lower_row(tmp_path):
    """An EXPLICIT LOWER_ROW weight section fills a symmetric matrix."""
    p = tmp_path / "e.vrp"
    p.write_text("NAME : e\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
                 "EDGE_WEIGHT_FORMAT : LOWER_ROW\nCAPACITY : 5\nEDGE_WEIGHT_SECTION\n4\n7 2\n"
                 "DEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n")
    inst = read_vrp(p)
    assert inst.distance.tolist() == [[0, 4, 7], [4, 0, 2], [7, 2, 0]]


def test_pyvrp_stop_counts_cpu_seconds_not_wall_time():
    """The routing stop counts the solving thread's CPU seconds: waiting (a busy machine) does not
    end the search, work does; with max_iterations the iteration count stops it first."""
    import time

    from netplan.routing.cvrp import CpuRuntime, pyvrp_stop

    stop = CpuRuntime(0.05)
    assert stop(0.0) is False
    time.sleep(0.2)                      # wall time passes, no CPU: not stopped
    assert stop(0.0) is False
    t0 = time.thread_time()
    while time.thread_time() - t0 < 0.08:
        pass
    assert stop(0.0) is True
    both = pyvrp_stop(60.0, 3)
    assert [both(0.0) for _ in range(4)] == [False, False, False, True]
