"""On Colab each chapter installs nnlib itself; locally it must not (issue: Colab).

Every chapter's setup cell starts with the same block::

    REPOSITORY = "<repository.url of _config.yml>"
    try:
        import nnlib as nn
    except ModuleNotFoundError:
        %pip install --quiet "nnlib[chapters] @ git+{REPOSITORY}"
        import nnlib as nn

The block is run by a real IPython shell in a fresh interpreter, with ``%pip`` replaced by a
recorder: once with nnlib importable (nothing is installed), once with nnlib made unimportable
(``sys.modules["nnlib"] = None``), where the recorder's "installation" makes it importable again.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]

RUNNER = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell

block, hide = sys.argv[1], sys.argv[2] == "hide"
if hide:
    sys.modules["nnlib"] = None            # import nnlib now raises ModuleNotFoundError
calls = []

def pip(line):                             # stands in for IPython's %pip
    calls.append(line)
    sys.modules.pop("nnlib", None)         # "installed": importable again

shell = InteractiveShell.instance()
shell.register_magic_function(pip, "line", "pip")
result = shell.run_cell(block)
nn = shell.user_ns.get("nn")
print(json.dumps({"ok": result.success, "calls": calls,
                  "nn": getattr(nn, "__name__", None),
                  "has_sequential": hasattr(nn, "Sequential")}))
"""


def install_block(notebook):
    """The lines of the setup cell from ``REPOSITORY =`` to the second ``import nnlib as nn``."""
    cells = json.loads(notebook.read_text())["cells"]
    setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"]).splitlines()
    start = next(i for i, line in enumerate(setup) if line.startswith("REPOSITORY = "))
    imports = [i for i, line in enumerate(setup) if line.strip() == "import nnlib as nn"]
    assert len(imports) == 2, f"{notebook.name}: the setup cell has no install block"
    return "\n".join(setup[start:imports[1] + 1])


def run_block(block, hide):
    out = subprocess.run([sys.executable, "-c", RUNNER, block, "hide" if hide else "keep"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_setup_cell_names_the_configured_repository(notebook):
    block = install_block(notebook)
    assert f'REPOSITORY = "{REPOSITORY}"' in block, (
        f"{notebook.name}: the install block must name _config.yml's repository.url, {REPOSITORY}")


def test_the_blocks_are_identical():
    """One block, copied into every chapter: a fix in one must be made in all."""
    assert len({install_block(nb) for nb in CHAPTERS}) == 1


def test_locally_nothing_is_installed():
    result = run_block(install_block(CHAPTERS[0]), hide=False)
    assert result == {"ok": True, "calls": [], "nn": "nnlib", "has_sequential": True}


def test_without_nnlib_the_repository_is_pip_installed_then_imported():
    result = run_block(install_block(CHAPTERS[0]), hide=True)
    assert result["ok"] and result["nn"] == "nnlib" and result["has_sequential"]
    assert result["calls"] == [f'install --quiet "nnlib[chapters] @ git+{REPOSITORY}"']
