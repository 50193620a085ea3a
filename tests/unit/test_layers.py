"""The package's layers, and a test that no module imports a layer above its own.

Read from the bottom up: the settings and the AWS plumbing; the dataset contracts; what an
identifier looks like; the Arrow transforms; the privacy rules; the Iceberg tables; the
models; erasure across tables and models; the pipeline stages; the entry points (the
CLI, the embedded AWS, the Glue job drivers, the query front-end); and, above the whole
package, the evaluation tooling ``lakeguard_eval`` (NAB), which no module of ``lakeguard``,
``lambdas``, ``glue_jobs`` or ``stacks`` may import. A module may import its
own layer and any layer below. An upward import is what made ``import lakeguard.contracts``
need pyarrow (the contracts loader borrowed the derivations from ``transforms``), and what
left the ML registry depending on the pipeline it serves.

Every import counts: at module level, inside a function, or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lakeguard"
#: The evaluation tooling: one layer above every layer of ``lakeguard``.
EVAL = "lakeguard_eval"
#: What the deployed lake runs besides ``lakeguard``: none of it may import ``EVAL``.
DEPLOYED = ("lambdas", "glue_jobs", "stacks", "app.py")

#: Bottom first. Each entry is the set of first-level names under ``lakeguard`` (packages
#: or modules) of one layer; the last is the package ``lakeguard_eval`` as a whole.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__init__", "config", "exceptions", "aws", "s3io", "parallel", "layout", "logs",
               "cachelock", "scratchspace"}),
    frozenset({"contracts"}),
    frozenset({"identifiers"}),
    frozenset({"transforms"}),
    frozenset({"privacy"}),
    frozenset({"tables"}),
    frozenset({"ml"}),
    frozenset({"erasure"}),
    frozenset({"pipeline"}),
    frozenset({"glue", "local", "cli", "query", "doctor", "deployment", "teardown", "samples",
               "testing"}),
    frozenset({EVAL}),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """First-level name under ``lakeguard`` of a dotted module name (``lakeguard`` itself:
    ``__init__``); any module of ``lakeguard_eval``: ``lakeguard_eval``."""
    parts = module.split(".")
    if parts[0] == EVAL:
        return EVAL
    return parts[1] if len(parts) > 1 else "__init__"


def _ours(name: str) -> bool:
    """Whether a dotted module name is in ``lakeguard`` or ``lakeguard_eval``."""
    return any(name == top or name.startswith(f"{top}.") for top in ("lakeguard", EVAL))


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``lakeguard`` or ``lakeguard_eval`` import in a file, relative
    ones resolved."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            # ``from lakeguard import config`` imports the module ``lakeguard.config``
            if base == "lakeguard":
                found += [(node.lineno, f"lakeguard.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if _ours(name)]


def upward_imports(paths: list[Path], root: Path = ROOT) -> list[str]:
    """Every import of a layer above the importing module's own, as ``file:line``."""
    problems = []
    for path in paths:
        own = _top(_module_name(path, root))
        for line, name in _imports(path, root):
            target = _top(name)
            if target not in RANK:
                continue  # reported by test_every_module_has_a_layer
            if RANK[target] > RANK[own]:
                problems.append(f"{path.relative_to(root)}:{line} imports {name} "
                                f"(layer {RANK[target]} above {own}'s {RANK[own]})")
    return problems


def _sources() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *(ROOT / EVAL).rglob("*.py")])


def test_every_module_has_a_layer():
    unplaced = sorted({_top(_module_name(p)) for p in _sources()} - set(RANK))
    assert unplaced == [], f"add {unplaced} to a layer in {Path(__file__).name}"


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports(_sources()) == []


def test_an_upward_import_is_caught(tmp_path):
    # GIVEN a contracts module that borrows from transforms (the import this test exists for)
    module = tmp_path / "lakeguard" / "contracts" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("def f():\n    from lakeguard.transforms.derive import FUNCTIONS\n")
    # WHEN the layers are checked THEN it is reported with its line
    assert upward_imports([module], root=tmp_path) == [
        "lakeguard/contracts/bad.py:2 imports lakeguard.transforms.derive "
        "(layer 3 above contracts's 1)"]


def test_an_import_of_the_evaluation_tooling_is_caught(tmp_path):
    # GIVEN a runtime module that borrows NAB's scorer (the evaluation sits above the package)
    module = tmp_path / "lakeguard" / "cli" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("from lakeguard_eval.nab import evaluate\n")
    # WHEN the layers are checked THEN it is reported with its line
    top = len(LAYERS) - 1
    assert upward_imports([module], root=tmp_path) == [
        f"lakeguard/cli/bad.py:1 imports lakeguard_eval.nab (layer {top} above cli's {top - 1})"]


def test_the_evaluation_tooling_may_import_the_runtime_package(tmp_path):
    module = tmp_path / "lakeguard_eval" / "good.py"
    module.parent.mkdir(parents=True)
    module.write_text("from lakeguard.ml.detectors import DETECTORS\nfrom lakeguard import cli\n")
    assert upward_imports([module], root=tmp_path) == []


def test_nothing_deployed_imports_the_evaluation_tooling():
    paths = [path for name in DEPLOYED for path in
             ([ROOT / name] if name.endswith(".py") else sorted((ROOT / name).rglob("*.py")))]
    assert len(paths) > 10
    found = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for path in paths for line, name in _imports(path, ROOT)
             if name == EVAL or name.startswith(f"{EVAL}.")]
    assert found == []


#: Imports of these raise in the child process below.
_BLOCKED = ("pyarrow", "numpy", "pandas")


@pytest.mark.parametrize("module", ["lakeguard.contracts", "lakeguard.layout", "lambdas.ingest"])
def test_module_imports_without_the_numerical_stack(module):
    """The ingest function routes keys by contract and names runs by layout: none of it
    needs pyarrow, so its cold start does not pay for it (and the stacks, which load the
    contracts at synth time, do not either)."""
    code = textwrap.dedent(f"""
        import sys

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {_BLOCKED!r}:
                    raise ImportError(f"{{name}} is blocked in this test")
                return None

        sys.meta_path.insert(0, Blocker())
        import {module}
        if "{module}" == "lakeguard.contracts":
            assert {module}.load_contract("matches").name == "matches"
    """)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
