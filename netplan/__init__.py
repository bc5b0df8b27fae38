"""netplan: plan three-tier rural waste recovery networks.

village point (村回收点) -> township station (乡镇转运站) -> county centre (县处理中心),
for crop straw, agricultural film, pesticide packaging, livestock manure and recyclables.
"""

from netplan.errors import InfeasibleError, InputError, NetplanError, SolverTimeout

__version__ = "0.1.0"

__all__ = ["InfeasibleError", "InputError", "NetplanError", "SolverTimeout", "__version__"]
