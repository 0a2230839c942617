"""Project-wide checks: the CLI is documented, imports flow one way, the
datasette/ folder stays assets-only."""

import ast
from pathlib import Path

import pytest

from registry.cli.main import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_and_is_in_the_readme(name):
    command = cli.commands[name]
    assert command.help and len(command.help.strip()) > 20, name
    assert f"ofsted-homes {name}" in README, (
        f"`ofsted-homes {name}` is not in README.md"
    )


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("crawler", {"extract", "registry"}),
        ("extract", {"registry", "crawler"}),
    ],
)
def test_imports_flow_one_way(package, forbidden):
    assert _imports(package) & forbidden == set()


def test_datasette_folder_is_assets_only():
    assert not (ROOT / "datasette" / "__init__.py").exists()
    import datasette

    assert hasattr(datasette, "__version__") or hasattr(datasette, "hookimpl")


def test_no_real_files_copied_into_the_repository():
    big_real = {"providers_at_31_march_2025.ods", "inspections_in_year_2023-24.csv"}
    names = {p.name for p in ROOT.rglob("*") if ".venv" not in p.parts}
    assert names.isdisjoint(big_real)
