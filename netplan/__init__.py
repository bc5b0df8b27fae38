"""netplan: plan three-tier rural waste recovery networks.

village point (村回收点) -> township station (乡镇转运站) -> county centre (县处理中心),
for crop straw, agricultural film, pesticide packaging, livestock manure and recyclables
(the streams are data: data/streams.toml).

The Python API a planner's script needs (docs/api.md)::

    import netplan

    scenario = netplan.load_scenario("data/scenarios/demo.toml")
    plan = netplan.run_plan(scenario, progress=print)
    netplan.write_plan(plan, "maps/demo")
    print(plan.kpis)

Names other than the errors are imported on first use, so ``import netplan`` stays light.
"""

from importlib import import_module

from netplan.errors import InfeasibleError, InputError, NetplanError, SolverTimeout

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first use)
_API = {
    "load_scenario": "netplan.scenario", "Scenario": "netplan.scenario",
    "run_plan": "netplan.planner", "Plan": "netplan.planner",
    "write_plan": "netplan.planner",
    "read_layout": "netplan.layout_io", "write_layout": "netplan.layout_io",
    "load_county": "netplan.inputs", "County": "netplan.model",
    "Supply": "netplan.supply", "Layout": "netplan.layout",
    "Evaluation": "netplan.evaluate", "evaluate": "netplan.evaluate",
    "read_run": "netplan.runfolder", "write_run": "netplan.runfolder",
    "RunRecord": "netplan.runfolder",
    "compare_runs": "netplan.compare",
    "frontier": "netplan.analysis", "alternatives": "netplan.analysis",
    "run_risk": "netplan.risk", "robust_plan": "netplan.risk.robust",
}

__all__ = ["InfeasibleError", "InputError", "NetplanError", "SolverTimeout", "__version__",
           *_API]


def __getattr__(name: str) -> object:
    """The API names of :data:`_API`, imported from their module on first use."""
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    msg = f"module 'netplan' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
