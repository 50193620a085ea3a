"""The embedded lake's synthesis cache is keyed on what the inputs hold, not their times."""

import os
import subprocess
import sys
from pathlib import Path

from lakeguard.local.runtime import inputs_digest


def _tree(root):
    (root / "stacks").mkdir(parents=True)
    (root / "stacks" / "processing.py").write_text("MEMORY = 1024\n")
    (root / "app.py").write_text("print('synth')\n")
    return root


def test_touching_files_or_writing_bytecode_keeps_the_digest(tmp_path):
    root = _tree(tmp_path)
    before = inputs_digest(root, {"env": "dev"})
    os.utime(root / "app.py", (1, 1))
    (root / "stacks" / "__pycache__").mkdir()
    (root / "stacks" / "__pycache__" / "processing.cpython-311.pyc").write_bytes(b"\0")
    assert inputs_digest(root, {"env": "dev"}) == before


def test_a_changed_input_a_new_file_or_another_context_changes_it(tmp_path):
    root = _tree(tmp_path)
    before = inputs_digest(root, {"env": "dev"})
    (root / "stacks" / "processing.py").write_text("MEMORY = 2048\n")
    changed = inputs_digest(root, {"env": "dev"})
    (root / "stacks" / "tables.py").write_text("")
    added = inputs_digest(root, {"env": "dev"})
    assert len({before, changed, added, inputs_digest(root, {"env": "prod"})}) == 4


def test_synthesis_runs_again_only_when_an_input_changed(tmp_path):
    from lakeguard.local.runtime import synthesize

    root = _tree(tmp_path)
    (root / "cdk.json").write_text('{"app": "python app.py"}\n')
    (root / "app.py").write_text(  # a stand-in app: writes an assembly, counts its runs
        "import os, pathlib\n"
        "out = pathlib.Path(os.environ['CDK_OUTDIR']); out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'manifest.json').write_text('{}')\n"
        "with open('runs.txt', 'a') as runs: runs.write('x')\n")
    runs = root / "runs.txt"
    synthesize(root)
    synthesize(root)
    assert runs.read_text() == "x"  # the second call found the assembly of these inputs
    (root / "cdk.json").write_text('{"app": "python app.py", "context": {"a": 1}}\n')
    synthesize(root)
    (root / "stacks" / "processing.py").write_text("MEMORY = 2048\n")
    synthesize(root)
    assert runs.read_text() == "xxx"


def test_two_commands_synthesizing_at_once_run_the_app_once(tmp_path):
    # GIVEN an app slow enough that a second command starts while the first synthesizes
    # (two `lakeguard` commands of one checkout, or the test suite's two workers)
    root = _tree(tmp_path)
    (root / "app.py").write_text(
        "import os, pathlib, time\n"
        "with open('runs.txt', 'a') as runs: runs.write('x')\n"
        "time.sleep(2)\n"
        "out = pathlib.Path(os.environ['CDK_OUTDIR']); out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'manifest.json').write_text('{}')\n")
    call = ("from pathlib import Path; from lakeguard.local.runtime import synthesize; "
            f"print(synthesize(Path({str(root)!r})))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    # WHEN both synthesize
    commands = [subprocess.Popen([sys.executable, "-c", call], stdout=subprocess.PIPE,
                                 text=True, env=env) for _ in range(2)]
    printed = {command.communicate(timeout=120)[0].strip() for command in commands}
    # THEN the second waited for the first and took its assembly
    assert [command.returncode for command in commands] == [0, 0]
    assert printed == {str(root / "cdk.out" / "local-dev")}
    assert (root / "runs.txt").read_text() == "x"
