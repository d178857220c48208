"""The ``neutone`` command line: compose, inspect, plugins, and commands plugins add."""

import json
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

from neutone_core.errors import HostSettingError, NeutoneError
from neutone_core.plugins import (
    PluginFailure,
    Registry,
    get_registry,
    load_plugins,
    plugin_commands,
    pm,
    provenance_of,
    record_commands,
    record_failure,
)


class NeutoneGroup(click.Group):
    """A group that adds plugin commands on first use and turns neutone errors into one line."""

    plugin_commands_loaded = False

    def _load_plugin_commands(self) -> None:
        if self.plugin_commands_loaded:
            return
        self.plugin_commands_loaded = True
        load_plugins()
        for impl in pm.hook.register_commands.get_hookimpls():
            before = set(self.commands)
            try:
                impl.function(cli=self)
            except Exception as exc:  # a broken plugin must not take the CLI down; `neutone plugins` shows it
                record_failure(impl.plugin_name, "register_commands", exc)
                click.echo(f"neutone: plugin {impl.plugin_name!r} failed to add its commands: {exc}", err=True)
            record_commands(impl.plugin_name, sorted(set(self.commands) - before))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Accept ``--debug`` anywhere before ``--`` (after the command too), as if given first."""
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:end]:
            args = ["--debug", *(arg for arg in args[:end] if arg != "--debug"), *args[end:]]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Command names, plugin commands included."""
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The named command, plugin commands included."""
        self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a NeutoneError becomes one line on stderr and exit status 1."""
        try:
            return super().invoke(ctx)
        except NeutoneError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            raise click.ClickException(str(exc)) from exc


def _print_versions(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: every installed neutone distribution and its version, one per line."""
    if not value or ctx.resilient_parsing:
        return
    from neutone_core.distributions import installed_distributions

    for name, version in installed_distributions():
        click.echo(f"{name} {version}")
    ctx.exit()


@click.group(cls=NeutoneGroup)
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_versions,
    help="List the installed neutone distributions (core, adapters, plugins) and their versions.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors (anywhere on the command line).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """neutone: export PyTorch audio models to one TorchScript model.nm a DAW host runs."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=what)
        pairs[key] = value
    return pairs


class ComposeCommand(click.Command):
    """``compose``, whose help ends with every installed model family and its options."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the families (``--family NAME``) and the metadata options any compose takes."""
        from neutone_core.tools.sources import family_lines, metadata_option_lines

        families = get_registry().families.values()
        with formatter.section("Model families (--family NAME, --option KEY=VALUE)"):
            for spec in families:
                for line in family_lines(spec):
                    formatter.write_text(line)
            if not families:
                formatter.write_text("none installed")
        with formatter.section("Metadata (--meta FILE.toml, or --option FIELD=VALUE, which wins)"):
            for line in metadata_option_lines():
                formatter.write_text(line)
            formatter.write_text("(in the file also technical_links, is_experimental and [knobs.NAME] description/default)")


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal, where a status line can be rewritten in place."""
    return stream.isatty()


class StatusLine:
    """What a long step is doing now, on one line of a terminal that each update rewrites and
    :meth:`clear` erases; where ``stream`` is not a terminal (a log, a pipe) it writes nothing,
    so a log holds only the lines that stay."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = is_terminal(stream)
        self.shown = False

    def show(self, text: str) -> None:
        """Replace the status with ``text`` (ending in "..."), cut to the terminal's width so
        that it never wraps onto a line the next update could not erase."""
        if self.live:
            width = shutil.get_terminal_size().columns
            self.stream.write(f"\r\x1b[K{text[: max(0, width - 4)]}...")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        """Erase the status, so the next line starts clean."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


class ExportProgress:
    """Export progress: each check's line as it finishes (stdout), and on a terminal the step
    running now (planning and scripting, then ``check NAME (3/16)``): checks run in the
    registry's order, so the next one is known when one finishes."""

    def __init__(self, check_names: list[str], status: StatusLine) -> None:
        self.check_names = check_names
        self.status = status
        self.done = 0
        status.show(self._running())

    def _running(self) -> str:
        if self.done == len(self.check_names):
            return "planning adapters and scripting the graph"
        step = f"check {self.check_names[self.done]} ({self.done + 1}/{len(self.check_names)})"
        return step if self.done else f"planning adapters and scripting the graph, then {step}"

    def finished(self, name: str, report: str) -> None:
        """``on_report`` of :func:`neutone_core.export.save_neutone_model`: print the check's line."""
        self.status.clear()
        click.echo(f"check {name}: {report}")
        self.done += 1
        if self.done < len(self.check_names):
            self.status.show(self._running())


@cli.command(cls=ComposeCommand)
@click.argument("source")
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False), help="Folder for model.nm and metadata.json.")
@click.option("--family", help="Build the wrapper with this registered model family from SOURCE.")
@click.option("--option", "family_options", multiple=True, metavar="KEY=VALUE", help="Family option or metadata field.")
@click.option("--meta", "metadata_file", type=click.Path(dir_okay=False), help="TOML file of metadata (model_name, ...).")
@click.option("--adapter", "adapters", multiple=True, metavar="NEED=NAME", help="Use this adapter for a need.")
@click.option("--adapter-option", "adapter_options", multiple=True, metavar="ADAPTER.OPTION=VALUE", help="Option for an adapter.")
@click.option("--skip-check", "skip_checks", multiple=True, metavar="NAME", help="Skip an export check by name.")
@click.option("--allow-operator", "allow_operators", multiple=True, metavar="NAME",
              help="Let the model call this operator the operators check refuses (files, processes, network).")
def compose(
    source: str,
    out_dir: str,
    family: str | None,
    family_options: tuple[str, ...],
    metadata_file: str | None,
    adapters: tuple[str, ...],
    adapter_options: tuple[str, ...],
    skip_checks: tuple[str, ...],
    allow_operators: tuple[str, ...],
) -> None:
    """Export SOURCE (path/to/file.py:ClassName, or a family's source) to OUT_DIR/model.nm."""
    from neutone_core.export import save_neutone_model
    from neutone_core.planner import parse_adapter_options
    from neutone_core.tools.sources import build_wrapper

    registry = get_registry()
    for failure in registry.failures:
        click.echo(f"warning: plugin {failure.plugin} ({failure.distribution}) skipped: {failure.error}", err=True)
    status = StatusLine(sys.stderr)
    status.show(f"loading {source}")
    wrapper = build_wrapper(registry, source, family, _pairs(family_options, "--option"), metadata_file)
    checks = ExportProgress(list(registry.checks), status)
    try:
        result = save_neutone_model(
            wrapper,
            out_dir,
            adapters=_pairs(adapters, "--adapter"),
            adapter_options=parse_adapter_options(list(adapter_options)),
            skip_checks=set(skip_checks),
            on_report=checks.finished,
            allow_operators=allow_operators,
        )
    finally:
        status.clear()
    plan = " -> ".join(["root", *(p.spec.name for p in result.plan), "model"])
    click.echo(f"plan: {plan}")
    for planned in result.plan:
        click.echo(f"  {planned.spec.name}: {planned.reason}")
    click.echo(f"wrote {result.model_path} and {result.metadata_path}")


SAMPLE_SOUNDS_FIELD = "sample_sound_files"
"""The metadata field of the stored sample sounds (base64 WAV pairs), left out of ``inspect --json``
unless ``--with-sounds``."""

MAX_HOST_SAMPLE_RATE = 768000
MAX_HOST_BLOCK_SIZE = 65536


HOST_SAMPLE_RATE = click.IntRange(1, MAX_HOST_SAMPLE_RATE)
"""``--sr``: a host rate in Hz; out of range is a usage error (exit 2)."""
HOST_BLOCK_SIZE = click.IntRange(1, MAX_HOST_BLOCK_SIZE)
"""``--bs``: a host buffer size in samples."""


@cli.command()
@click.argument("model_path", type=click.Path())
@click.option("--sr", "sample_rate", type=HOST_SAMPLE_RATE, default=48000, show_default=True, help="Host sample rate (Hz).")
@click.option("--bs", "block_size", type=HOST_BLOCK_SIZE, default=512, show_default=True, help="Host buffer size (samples).")
@click.option("--mono", is_flag=True, help="Mono host (default stereo).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (without the sample sounds' audio).")
@click.option("--with-sounds", is_flag=True, help="With --json: include the sample sounds (base64 WAV, about 1 MB).")
def inspect(model_path: str, sample_rate: int, block_size: int, mono: bool, as_json: bool, with_sounds: bool) -> None:
    """Show a model.nm's metadata, composed stages, and for one host setting the active
    stages and the delay."""
    from neutone_core.export import MODEL_FILE, load_neutone_model
    from neutone_core.tools.archive import archive_line, archive_report
    from neutone_core.tools.host import walk_stages
    from neutone_core.tools.validate.operators import operator_report

    module, metadata = load_neutone_model(model_path)
    operators = operator_report(module)
    archive = archive_report(Path(model_path) / MODEL_FILE if Path(model_path).is_dir() else model_path, operators["counts"])
    n_channels = 1 if mono else 2
    total = module.prepare(sample_rate, block_size, n_channels, 0, 0)
    stages = [
        {
            "name": stage.stage_name,
            "active": bool(stage.is_active()),
            "delay_samples": int(stage.delay_samples()),
            "description": stage.describe(),
        }
        for stage in walk_stages(module)
    ]
    sounds = metadata.get(SAMPLE_SOUNDS_FIELD, [])
    report = {
        "model": model_path,
        "metadata": metadata if with_sounds else {k: v for k, v in metadata.items() if k != SAMPLE_SOUNDS_FIELD},
        "sample_sounds": {"count": len(sounds), "included": with_sounds},
        "host": {"sample_rate": sample_rate, "block_size": block_size, "channels": n_channels},
        "model_stream": {"sample_rate": module.get_model_sample_rate(), "block_size": module.get_model_buffer_size()},
        "stages": stages,
        "delay": {
            "total_samples": total,
            "buffering_samples": module.calc_buffering_delay_samples(),
            "model_samples": module.calc_model_delay_samples(),
        },
        "operators": operators,
        "archive": archive,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{metadata['model_name']} {metadata['model_version']} by {', '.join(metadata['model_authors'])}")
    click.echo(f"  {metadata['model_short_description']}")
    click.echo(f"  type {metadata['model_type']}, native rates {metadata['native_sample_rates'] or 'any'}, "
               f"native sizes {metadata['native_buffer_sizes'] or 'any'}, look-behind {metadata['look_behind_samples']}")
    for key in sorted(metadata["neutone_parameters"]):
        p = metadata["neutone_parameters"][key]
        if p["used"]:
            click.echo(f"  knob {key} {p['name']!r} (default {p['default_value']}): {p['description']}")
    click.echo(f"stages: {' -> '.join(['root', *module.get_stage_names()])}")
    click.echo(f"host {sample_rate} Hz, {block_size} samples, {'mono' if mono else 'stereo'}; "
               f"model runs at {report['model_stream']['sample_rate']} Hz, blocks of {report['model_stream']['block_size']}")
    for stage in stages:
        state = "active  " if stage["active"] else "inactive"
        click.echo(f"  {state} {stage['description']} ({stage['delay_samples']} samples from here to the output)")
    delay = report["delay"]
    click.echo(f"delay: {delay['total_samples']} samples total "
               f"({delay['buffering_samples']} buffering + {delay['model_samples']} model), "
               f"{1000.0 * delay['total_samples'] / sample_rate:.2f} ms")
    click.echo(f"operators: {operators['summary']}")
    click.echo(f"{archive_line(archive)}; exported with torch {metadata['pytorch_version']}")


def _failure_dict(failure: PluginFailure) -> dict[str, str]:
    return {"plugin": failure.plugin, "distribution": failure.distribution, "stage": failure.stage, "error": failure.error}


HOOK_NAMES = ("register_adapters", "register_model_families", "register_checks", "register_commands")


def plugin_report(registry: Registry) -> dict[str, Any]:
    """Every registered plugin with its distribution, the hooks it implements and what it
    provides (structured), and every failure; the ``neutone plugins --json`` document."""
    entries: dict[str, dict[str, Any]] = {}
    for name, plugin in pm.list_name_plugin():
        provenance = provenance_of(name)
        hooks = [hook for hook in HOOK_NAMES if any(impl.plugin is plugin for impl in getattr(pm.hook, hook).get_hookimpls())]
        entries[name] = {
            "plugin": name,
            "distribution": provenance.distribution,
            "version": provenance.version,
            "hooks": hooks,
            "adapters": [],
            "model_families": [],
            "checks": [],
            "commands": plugin_commands().get(name, []),
        }
    for adapter in registry.adapters.values():
        entries[adapter.provenance.plugin]["adapters"].append(
            {
                "name": adapter.name,
                "need": adapter.need,
                "priority": adapter.priority,
                "rank": adapter.rank,
                "description": adapter.description,
                "options": adapter.options,
            }
        )
    for family in registry.families.values():
        entries[family.provenance.plugin]["model_families"].append(
            {
                "name": family.name,
                "description": family.description,
                "options": {name: option.to_json() for name, option in family.options.items()},
            }
        )
    for check in registry.checks.values():
        entries[check.provenance.plugin]["checks"].append({"name": check.name, "description": check.description})
    return {
        "plugins": [entries[name] for name in sorted(entries)],
        "failures": [_failure_dict(f) for f in registry.failures],
        "not_installed": not_installed(registry),
    }


WITHOUT_A_CHANNELS_ADAPTER = (
    "every wrapper declares mono or stereo, so no model exports; the core alone still inspects, renders, "
    "benches and profiles exported model.nm files"
)
"""What the core alone can do, said where nothing serves the ``channels`` need."""


def not_installed(registry: Registry) -> list[dict[str, Any]]:
    """The first-party adapter distributions none of whose needs an installed plugin serves:
    the needs, what cannot export without them, and the pip command that installs each where
    the core is installed."""
    from neutone_core.distributions import install_command
    from neutone_core.needs import FIRST_PARTY_DISTRIBUTIONS

    by_distribution: dict[str, list[str]] = {}
    for need, name in FIRST_PARTY_DISTRIBUTIONS.items():
        by_distribution.setdefault(name, []).append(need)
    missing = {name: needs for name, needs in by_distribution.items() if not any(map(registry.adapters_for, needs))}
    return [
        {
            "distribution": f"neutone-adapter-{name}",
            "needs": needs,
            "without_it": (
                WITHOUT_A_CHANNELS_ADAPTER if "channels" in needs else f"models that need {' or '.join(needs)} do not export"
            ),
            "install": install_command(f"neutone-adapter-{name}", name),
        }
        for name, needs in missing.items()
    ]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for tools.")
@click.option("--hook", "hook", type=click.Choice(HOOK_NAMES), help="Only plugins implementing this hook.")
def plugins(as_json: bool, hook: str | None) -> None:
    """List installed plugins, the hooks each implements, what each provides (adapters,
    model families, checks, commands), and plugins that failed to load."""
    from neutone_core.tools.sources import family_lines

    registry = get_registry()
    report = plugin_report(registry)
    if hook is not None:
        report["plugins"] = [entry for entry in report["plugins"] if hook in entry["hooks"]]
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for entry in report["plugins"]:
        click.echo(f"{entry['plugin']}  ({entry['distribution']} {entry['version']})".rstrip())
        click.echo(f"  hooks: {', '.join(entry['hooks']) or 'none'}")
        if entry["adapters"]:
            described = [
                f"{a['name']} ({a['need']}, priority {a['priority']}"
                + (f", rank {a['rank']})" if a["rank"] is not None else ", nests like its need's adapter)")
                for a in entry["adapters"]
            ]
            click.echo(f"  adapters: {', '.join(described)}")
        for spec in (registry.families[family["name"]] for family in entry["model_families"]):
            click.echo(f"  model family {family_lines(spec)[0]}")
            for line in family_lines(spec)[1:]:
                click.echo(f"    option {line.strip()}")
        if entry["checks"]:
            click.echo(f"  checks: {', '.join(item['name'] for item in entry['checks'])}")
        if entry["commands"]:
            click.echo(f"  commands: {', '.join(entry['commands'])}")
    for missing in report["not_installed"]:
        click.echo(f"not installed: {missing['distribution']} ({', '.join(missing['needs'])}): {missing['without_it']}")
        click.echo(f"  {missing['install']}")
    if report["failures"]:
        click.echo("failed:")
        for failure in report["failures"]:
            click.echo(f"  {failure['plugin']} ({failure['distribution']}) at {failure['stage']}: {failure['error']}")


SHOW_PROGRESS_AFTER_SECONDS = 1.0
"""A render still running after this long shows a progress bar (on stderr)."""


class RenderProgress:
    """A click progress bar on stderr for one file's host samples, shown only once the render
    has run :data:`SHOW_PROGRESS_AFTER_SECONDS` (a terminal redraws it; elsewhere click prints
    its label once). ``start(n_samples, sample_rate)`` is ``render_file``'s ``progress``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.n_samples = 0
        self.done = 0
        self.began = time.monotonic()
        self.bar: Any = None

    def start(self, n_samples: int, sample_rate: int) -> Callable[[int], None]:
        """Begin a render of ``n_samples`` host samples; the callback takes each piece's count."""
        self.n_samples, self.done, self.began = n_samples, 0, time.monotonic()
        return self.advance

    def advance(self, n: int) -> None:
        """``n`` more host samples rendered."""
        self.done += n
        if self.bar is None:
            if time.monotonic() - self.began < SHOW_PROGRESS_AFTER_SECONDS:
                return
            self.bar = click.progressbar(length=self.n_samples, label=self.label, file=sys.stderr)
            self.bar.__enter__()
            self.bar.update(self.done)
        else:
            self.bar.update(n)
        if self.done >= self.n_samples:
            self.bar.__exit__(None, None, None)


@cli.command()
@click.argument("model_path", type=click.Path())
@click.argument("input_path", type=click.Path())
@click.option("-o", "--output", "output_path", required=True, type=click.Path(), help="Output file (a folder when INPUT is one).")
@click.option("--sr", "sample_rate", type=HOST_SAMPLE_RATE, help="Host rate (Hz) the file is resampled to [default: the file's].")
@click.option("--bs", "block_size", type=HOST_BLOCK_SIZE, default=512, show_default=True, help="Host buffer size (samples).")
@click.option("--mono", is_flag=True, help="Mono host (default stereo).")
@click.option("--param", "knob_specs", multiple=True, metavar="NAME=VALUE|NAME=START:END", help="Set a knob (0..1) or sweep it.")
@click.option("--compensate-delay", is_flag=True, help="Remove the delay the model reports, as a DAW does.")
@click.option("--plot", "plot_path", type=click.Path(), help="Write a PNG of input and output (a folder when INPUT is one).")
@click.option("--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="Torch intra-op threads (plugins: 1).")
def render(
    model_path: str,
    input_path: str,
    output_path: str,
    sample_rate: int | None,
    block_size: int,
    mono: bool,
    knob_specs: tuple[str, ...],
    compensate_delay: bool,
    plot_path: str | None,
    threads: int,
) -> None:
    """Stream INPUT (WAV/FLAC/MP3, or a folder of them) through MODEL_PATH exactly as a host does."""
    from neutone_core.export import load_neutone_model
    from neutone_core.tools.audio_io import require_tool
    from neutone_core.tools.bench import torch_threads
    from neutone_core.tools.render import parse_knob_setting, render_file, render_jobs

    require_tool("soundfile", "neutone render")
    if plot_path is not None:
        require_tool("matplotlib", "--plot")
    module, metadata = load_neutone_model(model_path)
    try:
        knobs = [parse_knob_setting(spec, metadata) for spec in knob_specs]
    except HostSettingError as exc:
        raise click.UsageError(str(exc)) from exc
    jobs = render_jobs(Path(input_path), Path(output_path), None if plot_path is None else Path(plot_path))
    for job in jobs:
        progress = RenderProgress(job.source.name)
        with torch_threads(threads):
            summary = render_file(
                module, metadata, job, sample_rate, block_size, mono, knobs, compensate_delay, progress.start,
                on_step=lambda text: click.echo(text, err=True),
            )
        click.echo(summary)


@cli.command()
@click.argument("model_path", type=click.Path())
@click.option(
    "--sr", "sample_rates", type=HOST_SAMPLE_RATE, multiple=True,
    help="Host rate (Hz), repeatable [default: 44100, 48000, native rates]",
)
@click.option(
    "--bs", "block_sizes", type=HOST_BLOCK_SIZE, multiple=True, help="Buffer size, repeatable [default: 128, 512, 2048, native]"
)
@click.option("--mono", is_flag=True, help="Mono host (default stereo).")
@click.option("--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="Torch intra-op threads.")
@click.option("--blocks", type=click.IntRange(10, 1_000_000), default=500, show_default=True, help="Timed blocks per setting.")
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON report (schema in neutone_core.tools.bench).")
def bench(
    model_path: str,
    sample_rates: tuple[int, ...],
    block_sizes: tuple[int, ...],
    mono: bool,
    threads: int,
    blocks: int,
    as_json: bool,
) -> None:
    """Time MODEL_PATH as a realtime host runs it, per host setting, and list its latency."""
    from neutone_core.export import load_neutone_model
    from neutone_core.tools.bench import bench_model

    module, metadata = load_neutone_model(model_path)
    rates = list(sample_rates) or sorted({44100, 48000, *metadata["native_sample_rates"]})
    sizes = list(block_sizes) or sorted({128, 512, 2048, *metadata["native_buffer_sizes"]})
    status = StatusLine(sys.stderr)

    def announce(index: int, sample_rate: int, block_size: int) -> None:
        status.show(f"bench {sample_rate} Hz / {block_size} ({index + 1}/{len(rates) * len(sizes)})")

    try:
        results = bench_model(module, rates, sizes, 1 if mono else 2, threads, blocks, announce)
    finally:
        status.clear()
    report = {"model": model_path, "model_name": metadata["model_name"], **results}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{metadata['model_name']}: {'mono' if mono else 'stereo'} host, {threads} thread(s), {blocks} blocks per setting")
    click.echo(f"{'rate Hz':>8} {'block':>6} {'median us':>10} {'p99 us':>9} {'max us':>9} {'deadline us':>12} "
               f"{'1/RTF':>8} {'missed':>7} {'allocs':>7}")
    for s in report["settings"]:
        t = s["time_per_block_us"]
        click.echo(f"{s['sample_rate']:>8} {s['block_size']:>6} {t['median']:>10.1f} {t['p99']:>9.1f} {t['max']:>9.1f} "
                   f"{s['deadline_us']:>12.1f} {s['inverse_rtf']:>8.1f} {s['missed_deadlines']:>7} "
                   f"{s['allocations_per_block']:>7g}")
    click.echo("latency, lowest first:")
    click.echo(f"{'rate Hz':>8} {'block':>6} {'buffering':>10} {'model':>6} {'total':>6} {'ms':>7}")
    for row in report["latency"]:
        click.echo(f"{row['sample_rate']:>8} {row['block_size']:>6} {row['buffering_samples']:>10} {row['model_samples']:>6} "
                   f"{row['total_samples']:>6} {row['total_ms']:>7.2f}")


@cli.command()
@click.argument("model_path", type=click.Path())
@click.option("--sr", "sample_rate", type=HOST_SAMPLE_RATE, default=48000, show_default=True, help="Host sample rate (Hz).")
@click.option("--bs", "block_size", type=HOST_BLOCK_SIZE, default=512, show_default=True, help="Host buffer size (samples).")
@click.option("--mono", is_flag=True, help="Mono host (default stereo).")
@click.option("--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="Torch intra-op threads.")
@click.option("--blocks", type=click.IntRange(1, 100_000), default=100, show_default=True, help="Profiled blocks.")
@click.option("--top", type=click.IntRange(1, 1000), default=15, show_default=True, help="Operators to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def profile(
    model_path: str, sample_rate: int, block_size: int, mono: bool, threads: int, blocks: int, top: int, as_json: bool
) -> None:
    """Show where MODEL_PATH spends its time per host block: by stage and by operator (torch profiler)."""
    from neutone_core.export import load_neutone_model
    from neutone_core.tools.bench import torch_threads
    from neutone_core.tools.profiling import profile_model

    module, metadata = load_neutone_model(model_path)
    with torch_threads(threads):
        report = profile_model(module, sample_rate, block_size, 1 if mono else 2, blocks)
    if as_json:
        click.echo(json.dumps({"model": model_path, **report}, indent=2))
        return
    click.echo(f"{metadata['model_name']} at {sample_rate} Hz / {block_size}, {'mono' if mono else 'stereo'} host, "
               f"{threads} thread(s): {report['profiled_us_per_block']:.1f} us per block under the profiler ({blocks} blocks)")
    click.echo("by stage (self CPU time per block; 'interpreter' is TorchScript between operators):")
    for row in report["by_stage"]:
        click.echo(f"  {row['stage']:<14} {row['self_us_per_block']:>9.1f} us {100 * row['share']:>5.1f}%  "
                   f"{row['allocations_per_block']:g} allocations")
    click.echo(f"by operator (top {top}):")
    for row in report["by_operator"][:top]:
        click.echo(f"  {row['operator']:<28} {row['stage']:<14} {row['calls_per_block']:>5g} calls "
                   f"{row['self_us_per_block']:>9.1f} us {100 * row['share']:>5.1f}%")


@cli.command()
@click.argument("model_path", type=click.Path())
@click.option("--strictness", type=click.IntRange(1, 10), default=5, show_default=True,
              help="1 (quick, what export runs) .. 10 (at least 10,000 random host sessions).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random host call (same seed, same calls).")
@click.option("--json", "as_json", is_flag=True, help="Print the neutone-validate/1 JSON report.")
@click.option("--native", is_flag=True, help="Run the host sessions in the C++ native host, as Neutone FX runs the file.")
@click.option("--allow-operator", "allowed_operators", multiple=True, metavar="NAME", help="Let the file call this operator.")
@click.option("--max-allocations", type=click.FloatRange(min=0), help="Fail realtime above this many allocations per call.")
@click.option("--max-p99-load", type=click.FloatRange(min=0, min_open=True),
              help="Fail realtime when the p99 block CPU time exceeds this share of the block (1.0 = its whole duration).")
def validate(
    model_path: str,
    strictness: int,
    seed: int,
    as_json: bool,
    native: bool,
    allowed_operators: tuple[str, ...],
    max_allocations: float | None,
    max_p99_load: float | None,
) -> None:
    """Throw every host behaviour at MODEL_PATH (any .nm file): one line per check, and for a
    failure the host calls that reproduce it; exit status 1 when a check fails."""
    from neutone_core.tools.validate import validate as validate_file

    def show(result: Any) -> None:
        if not as_json:
            click.echo("\n".join(result.lines()))

    report = validate_file(model_path, strictness, seed, native, allowed_operators, max_allocations, max_p99_load, show)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.lines()[-1])
    if not report.passed:
        sys.exit(1)
