"""The documentation follows the code: its example exports, and every command, export check, hook,
host method and distribution the code has is on its page."""

import re
from pathlib import Path

import pytest
import torch

from neutone_core import hookspecs, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.tools.cli import cli
from neutone_core.tools.sources import load_wrapper_from_file

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text()


def test_the_quick_start_wrapper_exports(tmp_path: Path) -> None:
    [code] = re.findall(r"```python\n# gain.py\n(.*?)```", page("quickstart.md"), re.S)
    (tmp_path / "gain.py").write_text(code)
    save_neutone_model(load_wrapper_from_file(f"{tmp_path}/gain.py:GainWrapper"), tmp_path / "out", skip_checks={"sample_sounds"})
    module, metadata = load_neutone_model(tmp_path / "out")
    assert metadata["native_sample_rates"] == [44100] and module.get_stage_names() == ["mixer", "resample", "fifo", "model"]
    assert torch.equal(module.get_default_param_values().flatten(), torch.tensor([0.5, 0.0, 0.0, 0.0]))


@pytest.mark.parametrize("command", ["compose", "inspect", "render", "bench", "profile", "validate", "plugins"])
def test_every_core_command_has_a_section(command: str) -> None:
    assert command in cli.commands
    assert f"\n## {command}\n" in page("cli.md")


def test_every_core_export_check_is_in_the_table() -> None:
    core_checks = [name for name, spec in get_registry().checks.items() if spec.provenance.distribution == "neutone"]
    assert len(core_checks) >= 8
    table = page("cli.md")
    assert [name for name in core_checks if f"| `{name}` |" not in table] == []


def test_every_hook_is_on_the_plugin_page() -> None:
    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    assert len(hooks) == 4
    text = page("plugins.md")
    assert [hook for hook in hooks if f"`{hook}(" not in text] == []
    for callback in ("register(name, need, factory", "register(name, build", "register(name, check"):
        assert callback in text


def test_every_wrapper_method_is_on_the_wrapper_page() -> None:
    from neutone_core import WaveformToWaveformBase

    methods = [name for name, value in vars(WaveformToWaveformBase).items() if callable(value) and not name.startswith("_")]
    assert len(methods) >= 30
    text = page("wrapper.md")
    assert [name for name in methods if f"`{name}(" not in text] == []


def test_every_host_method_is_on_the_contract_page(tmp_path: Path) -> None:
    from neutone_core.testing import PassThroughWrapper

    module = save_neutone_model(PassThroughWrapper(), tmp_path, skip_checks=set(get_registry().checks)).model_path
    root, _ = load_neutone_model(module)
    text = page("host-contract.md")
    methods = [name for name in root.get_preserved_attributes() if name != "w2w_base"] + ["forward"]
    assert [name for name in methods if f"`{name}(" not in text] == []


def test_every_distribution_is_in_the_install_table() -> None:
    patterns = ("neutone_adapters/*/pyproject.toml", "plugins/*/pyproject.toml")
    folders = [p.parent for pattern in patterns for p in ROOT.glob(pattern)]
    text = page("install.md")
    names = [re.search(r'^name = "([^"]+)"', (f / "pyproject.toml").read_text(), re.M).group(1) for f in folders]  # type: ignore[union-attr]
    missing = [name for name in names if f"| `{name}` |" not in text]
    assert missing == [], f"add a row for {missing} to the table in docs/install.md"
