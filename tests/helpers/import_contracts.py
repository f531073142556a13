"""A custom import-linter contract: no import cycle anywhere in a package.

``acyclic_siblings`` compares only the children of each package, and it reads the
graph built without ``if TYPE_CHECKING:`` imports, so it misses two kinds of
cycle: one through annotations (``core.accumulator`` <-> ``core.evaluate``) and a
package's ``__init__`` importing its own modules (importing ``vocmap.cli.runs``
runs ``vocmap/cli/__init__.py`` first, which imported ``vocmap.cli.runs``). This
contract checks every module against every other: the graph includes
annotation-only imports, and each module is taken to import the packages it is
in (except the top one, whose ``__init__`` is the lazy public facade).
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _path(edges: dict[str, set[str]], members: list[str]) -> list[str]:
    """One shortest cycle through the first member, inside the component."""
    inside = set(members)
    start = members[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node] & inside):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return members


def module_cycles(packages: list[str]) -> list[list[str]]:
    """Each import cycle among the modules of ``packages``, as a path back to its start."""
    full = grimp.build_graph(*packages, exclude_type_checking_imports=False, cache_dir=None)

    def ours(module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in packages)

    edges: dict[str, set[str]] = {}
    for module in filter(ours, full.modules):
        imported = set(filter(ours, full.find_modules_directly_imported_by(module)))
        parts = module.split(".")
        imported |= {".".join(parts[:k]) for k in range(2, len(parts))}  # its packages
        edges[module] = imported - {module}
    for targets in list(edges.values()):
        for target in targets:
            edges.setdefault(target, set())
    return [_path(edges, members) for members in _cycles(edges)]


class AcyclicModulesContract(Contract):
    """No cycle among all the modules of ``packages`` (annotation imports included)."""

    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        cycles = module_cycles([str(p) for p in self.packages])  # type: ignore[attr-defined]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join(cycle))
            output.new_line()
