"""The `growlstm` command: the only module that imports Hydra.

Hydra composes conf/ over the typed schema (a typo or a wrong type fails at compose time); the
composed config becomes a plain `Config`, and the library does the rest.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.experimental.callback import Callback
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from growlstm.config import SCHEMA_NAME, Config
from growlstm.data import load
from growlstm.errors import InputError
from growlstm.many import ManyResult, grow_panel
from growlstm.report import format_many, format_report
from growlstm.search import resume

ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)


def conf_dir() -> str:
    """conf/ beside the package (installed wheel) or at the repository root (source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError("growlstm's conf/ folder is missing from the installation")


def setup_console(run_dir: Path, verbose: bool) -> None:
    """Plain lines for the forecaster on stdout; the same lines in run_dir/growlstm.log."""
    logger = logging.getLogger("growlstm")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False  # Hydra's root handlers would print every line twice
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(message)s"))
    logfile = logging.FileHandler(run_dir / "growlstm.log")
    logfile.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(console)
    logger.addHandler(logfile)
    if verbose:
        logging.getLogger("pytorch_lightning").setLevel(logging.INFO)


def run(cfg: DictConfig) -> None:
    """Hydra task: compose -> dataclasses -> grow -> report."""
    config: Config = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    job_dir = Path(HydraConfig.get().runtime.output_dir)  # this invocation's own folder
    run_dir = Path(config.resume) if config.resume else job_dir
    try:
        if not run_dir.is_dir():
            raise InputError(f"resume={run_dir} is not a directory", "give the run directory printed as 'records:'")
        setup_console(run_dir, config.verbose)
        if config.resume:
            result = resume(run_dir)
        else:
            # Several series (a long table, data.series unset or a pattern): local or global scope.
            result = grow_panel(load(config.data), config, run_dir=run_dir)
    except Exception as err:
        multirun = HydraConfig.get().mode == RunMode.MULTIRUN
        if not isinstance(err, InputError) and not multirun:
            raise  # a bug, not bad input: Hydra shows it (HYDRA_FULL_ERROR=1 for the trace)
        message = f"growlstm: error: {err}" if isinstance(err, InputError) else f"growlstm: job failed: {err!r}"
        print(message, file=sys.stderr)
        detail = "" if isinstance(err, InputError) else "\n" + traceback.format_exc()
        (job_dir / "error.txt").write_text(message + "\n" + detail)
        if multirun:
            return  # one failed job must not stop the sweep; its folder says why (SweepReport)
        sys.exit(2)
    print()
    print(format_many(result) if isinstance(result, ManyResult) else format_report(result))
    print(f"records: {run_dir}  ({result.seconds:.1f}s)")


class SweepReport(Callback):
    """At the end of a sweep: list the jobs that failed (their folders hold error.txt)."""

    failed: list[Path] = []

    def on_multirun_end(self, config: DictConfig, **kwargs: object) -> None:
        errors = sorted(Path(config.hydra.sweep.dir).glob("*/error.txt"))
        SweepReport.failed = [e.parent for e in errors]
        for path in errors:
            print(f"failed job {path.parent.name}: {path.read_text().splitlines()[0]}", file=sys.stderr)
        if errors:
            print(f"growlstm: {len(errors)} job(s) of the sweep failed; see error.txt in their folders", file=sys.stderr)


# Hydra flags that take a value, and flags that print something instead of running.
_VALUE_FLAGS = {"--config-path": "path", "-cp": "path", "--config-name": "name", "-cn": "name",
                "--config-dir": "dir", "-cd": "dir", "--experimental-rerun": None}
_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--info", "-i", "--cfg", "-c",
               "--resolve", "--package", "-p", "--shell-completion", "-sc"}


def job_overrides(args: list[str]) -> tuple[dict[str, str], list[list[str]]] | None:
    """Hydra flags and override lists that together try every value of a sweep once.

    None when Hydra should answer alone (--help, --cfg, ...).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    flags: dict[str, str] = {}
    overrides: list[str] = []
    it = iter(args)
    for arg in it:
        key, _, value = arg.partition("=")
        if key in _INFO_FLAGS:
            return None
        if key in _VALUE_FLAGS:
            if _VALUE_FLAGS[key] is None:
                return None
            flags[_VALUE_FLAGS[key]] = value if value else next(it, "")
        elif not arg.startswith("-"):
            overrides.append(arg)
    parsed = OverridesParser.create().parse_overrides(overrides)
    values = [
        [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override() else [o.input_line or ""]
        for o in parsed
    ]
    first = [v[0] for v in values]
    jobs = [first] + [first[:i] + [v] + first[i + 1 :] for i, vs in enumerate(values) for v in vs[1:]]
    return flags, jobs


def config_problem(args: list[str]) -> str | None:
    """Compose the config as Hydra will, to turn a typo or a wrong type into one clear line."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    try:
        parsed = job_overrides(args)
    except HydraException as err:
        return f"cannot parse the command line: {str(err).splitlines()[0]}. Fix: see growlstm --help"
    if parsed is None:
        return None
    flags, jobs = parsed
    config_dir = str(Path(flags.get("path") or conf_dir()).resolve())
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
            for overrides in jobs:
                OmegaConf.to_object(compose(flags.get("name") or "config", overrides=overrides))
    except MissingConfigException as err:
        text = str(err).split("Config search path")[0]
        head, _, options = text.partition("Available options in")
        group, _, names = options.partition(":")
        listed = ", ".join(names.split())
        fix = f"choose one of {listed} for {group.strip()}" if listed else "check the config name"
        return f"{head.splitlines()[0].rstrip('.')}. Fix: {fix}"
    except (HydraException, OmegaConfBaseException, ValueError) as err:
        lines = [str(err).splitlines()[0]]
        if err.__cause__ is not None:
            lines.append(str(err.__cause__).splitlines()[0])
        return f"{': '.join(line.rstrip('.') for line in lines)}. Fix: check the name and type with growlstm --help"
    finally:
        GlobalHydra.instance().clear()
    return None


def main() -> None:
    """Console entry point (`growlstm`)."""
    problem = config_problem(sys.argv[1:])
    if problem:
        print(f"growlstm: error: {problem}", file=sys.stderr)
        sys.exit(2)
    hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")(run)()
    # Hydra instantiates the callback from `growlstm.cli`, which is not `__main__` under `python -m`.
    from growlstm.cli import SweepReport as report

    if report.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
