"""The README's example runs, and every hook is documented with its exact signature."""

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from neutone_core import hookspecs, load_neutone_model
from neutone_core.hookspecs import hookimpl
from neutone_core.plugins import get_registry

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_wrapper_example_exports(tmp_path: Path) -> None:
    [code] = [block for block in re.findall(r"```python\n(.*?)```", README, re.S) if "class GainWrapper" in block]
    assert len(code.strip().splitlines()) <= 40
    script = tmp_path / "gain.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    module, metadata = load_neutone_model(tmp_path / "out" / "gain" / "model.nm")
    assert metadata["native_sample_rates"] == [44100] and metadata["native_buffer_sizes"] == [1024]
    assert module.get_stage_names()[-1] == "model"


HOOK_NAMES = ["register_adapters", "register_model_families", "register_checks", "register_commands"]


def test_every_hook_is_in_the_readme_with_its_signature() -> None:
    specs = {name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")}
    assert specs == set(HOOK_NAMES)
    for name in HOOK_NAMES:
        parameters = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"`{name}({parameters})`" in README


def test_every_register_callback_is_documented_with_its_signature(register_plugin) -> None:
    seen: dict[str, Callable[..., Any]] = {}

    class Recorder:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            seen["register_adapters"] = register

        @staticmethod
        @hookimpl
        def register_model_families(register: Callable[..., None]) -> None:
            seen["register_model_families"] = register

        @staticmethod
        @hookimpl
        def register_checks(register: Callable[..., None]) -> None:
            seen["register_checks"] = register

    register_plugin(Recorder(), "recorder")
    get_registry()
    for hook, register in seen.items():
        parts = []
        for parameter in inspect.signature(register).parameters.values():
            default = parameter.default
            if default is inspect.Parameter.empty:
                parts.append(parameter.name)
            else:
                parts.append(f"{parameter.name}={default!r}".replace("'", '"'))
        assert f"`{hook}(register)` with `register({', '.join(parts)})`" in README
