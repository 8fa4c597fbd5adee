"""The `growlstm` command: the only module that imports Hydra.

Hydra composes conf/ over the typed schema (a typo or a wrong type fails at compose time); the
composed config becomes a plain `Config`, and the library does the rest.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import logging
import math
import os
import shlex
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Iterator

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

# Only light modules here: `growlstm --help` must not import torch (run() imports the rest).
from growlstm.config import SCHEMA_NAME, Config, check_config
from growlstm.errors import InputError

ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)
# ${pid:} in hydra.run.dir / hydra.sweep.dir: two runs started in the same second get their own
# folders. Cached, so a launcher's worker resolves the folder its parent made.
OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True, replace=True)


def conf_dir() -> str:
    """conf/ beside the package (installed wheel) or at the repository root (source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError("growlstm's conf/ folder is missing from the installation")


def job_label() -> str:
    """In a sweep, the job's folder name ('3_nile_seed0') that starts its console lines; '' otherwise."""
    config = HydraConfig.get()
    return Path(config.runtime.output_dir).name if config.mode == RunMode.MULTIRUN else ""


def echo(text: str, file: object = None) -> None:
    """print(), each line marked with the job in a sweep (parallel jobs' lines interleave)."""
    label = job_label()
    lines = text.splitlines() or [""]
    print("\n".join(f"[{label}] {line}" if label else line for line in lines), file=file or sys.stdout)


def setup_console(run_dir: Path, verbose: bool) -> None:
    """Plain lines for the forecaster on stdout; the same lines in run_dir/growlstm.log."""
    logger = logging.getLogger("growlstm")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False  # Hydra's root handlers would print every line twice
    console = logging.StreamHandler(sys.stdout)
    label = job_label()
    console.setFormatter(logging.Formatter(f"[{label.replace('%', '%%')}] %(message)s" if label else "%(message)s"))
    logfile = logging.FileHandler(run_dir / "growlstm.log")
    logfile.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(console)
    logger.addHandler(logfile)
    if verbose:
        logging.getLogger("pytorch_lightning").setLevel(logging.INFO)


@contextlib.contextmanager
def ctrl_c() -> Iterator[list[bool]]:
    """Ctrl-C as a KeyboardInterrupt that is remembered: Lightning catches it mid-training and
    exits with code 1, which only this flag then tells apart from other exits."""
    pressed = [False]

    def handler(signum: int, frame: object) -> None:
        pressed[0] = True
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # a launcher's thread: no signals
        yield pressed
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupted(run_dir: Path) -> None:
    """After Ctrl-C: the command that continues the run, and exit code 130 (as a shell's)."""
    from growlstm.records.store import RUN_CONFIG

    if (run_dir / RUN_CONFIG).is_file():
        echo(f"growlstm: interrupted; continue with: growlstm resume={shlex.quote(str(run_dir.resolve()))}", sys.stderr)
    else:
        echo("growlstm: interrupted before the run started; nothing was recorded", sys.stderr)
    sys.exit(130)


def resume_notes(config: Config, run_dir: Path) -> bool:
    """Say what `resume=` does with other overrides, and whether the run is already complete."""
    ignored = [o for o in HydraConfig.get().overrides.task if o.partition("=")[0].lstrip("+~") != "resume"]
    if ignored:
        echo(f"growlstm: note: resume continues with the run's saved run.yaml; ignored: {' '.join(ignored)}", sys.stderr)
    if (run_dir / "summary.json").is_file():  # written last: the run finished
        echo(f"growlstm: {run_dir} is a finished run (its summary.json is written); nothing to resume")
        echo(f"records: {run_dir}")
        return True
    return False


LOCK_FILE = ".growlstm.lock"  # held while a run writes its folder


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """The run folder to this process alone while it runs: a second run started with the same
    folder (an explicit hydra.run.dir, or resume= of a running run) is refused in one line
    instead of mixing its records into the first's. An OS file lock (filelock): released when
    the process ends, however it ends."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(run_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        echo(f"growlstm: error: another growlstm run is writing to {run_dir} now. Fix: wait for it to finish, or "
             "give this run a folder of its own (leave hydra.run.dir unset)", sys.stderr)
        sys.exit(2)
    try:
        yield
    finally:
        lock.release()


def writable_run_dir(args: list[str]) -> str:
    """Why the run folder an explicit ``hydra.run.dir=`` names cannot be made ("" when it can):
    checked before Hydra starts, which would otherwise fail with a traceback."""
    given = [a.split("=", 1)[1] for a in args if a.startswith(("hydra.run.dir=", "+hydra.run.dir="))]
    if not given or "${" in given[-1]:
        return ""
    folder = Path(given[-1])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".growlstm-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        return (f"cannot write the run folder {folder} ({err.strerror or type(err).__name__}). Fix: give "
                "hydra.run.dir a folder you can write, or leave it unset (outputs/<date>/<time>)")
    return ""


def run(cfg: DictConfig) -> None:
    """Hydra task: compose -> dataclasses -> grow -> report."""
    config: Config = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    job_dir = Path(HydraConfig.get().runtime.output_dir)  # this invocation's own folder
    run_dir = Path(config.resume) if config.resume else job_dir
    if config.resume and resume_notes(config, run_dir):
        return
    result: object = None
    with run_lock(run_dir), ctrl_c() as pressed:
        try:
            setup_console(run_dir, config.verbose)
            from growlstm.data import load
            from growlstm.runs.dispatch import grow_panel
            from growlstm.records.results import ManyResult
            from growlstm.records.report import format_many, format_report
            from growlstm.runs.dispatch import resume

            if config.predict:
                result = predict_into(config, job_dir)
            elif config.resume:
                result = resume(run_dir)
            else:
                # Several series (a long table, data.series unset or a pattern): local or global scope.
                result = grow_panel(load(config.data), config, run_dir=run_dir)
        except (KeyboardInterrupt, SystemExit) as err:
            if isinstance(err, SystemExit) and not pressed[0]:
                raise
            interrupted(run_dir)
        except Exception as err:
            multirun = HydraConfig.get().mode == RunMode.MULTIRUN
            if not isinstance(err, InputError) and not multirun:
                raise  # a bug, not bad input: Hydra shows it (HYDRA_FULL_ERROR=1 for the trace)
            message = f"growlstm: error: {err}" if isinstance(err, InputError) else f"growlstm: job failed: {err!r}"
            echo(message, sys.stderr)
            detail = "" if isinstance(err, InputError) else "\n" + traceback.format_exc()
            if multirun or not config.resume:  # (a resume's folder is the user's run, not a job's)
                (job_dir / "error.txt").write_text(message + "\n" + detail)
            if multirun:
                return  # one failed job must not stop the sweep; its folder says why (SweepReport)
            sys.exit(2)
    echo("")
    if config.predict:
        from growlstm.runs.prediction import describe

        echo(describe(result))  # type: ignore[arg-type]
        echo(f"records: {run_dir}")
        return
    echo(format_many(result) if isinstance(result, ManyResult) else format_report(result))
    echo(f"records: {run_dir}  ({result.seconds:.1f}s)")  # type: ignore[attr-defined]
    if (run_dir / "report.html").is_file():
        echo(f"report: {run_dir / 'report.html'}")


def predict_into(config: Config, out_dir: Path) -> object:
    """`predict=<run dir>`: the finished run's forecaster on its own data, or on the data that
    data.* overrides give (the run's data config, those keys replaced; `data=<name>` replaces it
    all); forecast.csv and predict.json go to this invocation's folder. Other overrides do not
    apply (the model is the run's); one line names them."""
    from dataclasses import replace

    from growlstm.runs.prediction import predict, run_config

    keys = [o.partition("=")[0].lstrip("+~") for o in HydraConfig.get().overrides.task]
    ignored = [o for o, k in zip(HydraConfig.get().overrides.task, keys)
               if k not in ("predict", "data", "verbose") and not k.startswith(("data.", "hydra."))]
    if ignored:
        echo(f"growlstm: note: predict uses the run's saved model and settings; ignored: {' '.join(ignored)}", sys.stderr)
    data = config.data
    if "data" not in keys:
        saved = run_config(Path(config.predict or ""))
        data = replace(saved.data, **{k[5:]: getattr(config.data, k[5:]) for k in keys if k.startswith("data.")})
    return predict(config.predict or "", data=data, out_dir=out_dir)


class SweepReport(Callback):
    """At the end of a sweep: list the jobs that failed (their folders hold error.txt), and end
    the process with exit code 1 if any did (the last thing a sweep does)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: object) -> None:
        errors = sorted(Path(config.hydra.sweep.dir).glob("*/error.txt"))
        for path in errors:
            print(f"failed job {path.parent.name}: {path.read_text().splitlines()[0]}", file=sys.stderr)
        if errors:
            print(f"growlstm: {len(errors)} job(s) of the sweep failed; see error.txt in their folders", file=sys.stderr)
            sys.exit(1)


# Hydra flags that take a value, and flags that print something instead of running.
_VALUE_FLAGS = {"--config-path": "path", "-cp": "path", "--config-name": "name", "-cn": "name",
                "--config-dir": "dir", "-cd": "dir", "--experimental-rerun": None}
_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--info", "-i", "--cfg", "-c",
               "--resolve", "--package", "-p", "--shell-completion", "-sc"}


# A sweep of at most this many jobs is checked job by job; a larger one value by value.
CHECK_ALL_JOBS = 100


def job_overrides(args: list[str]) -> tuple[dict[str, str], list[list[str]], list[int]] | None:
    """Hydra flags, the override lists of the sweep's jobs (all of them in a small sweep, else
    enough to try every value once) and the positions of the swept overrides in those lists.

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
    swept = [i for i, o in enumerate(parsed) if o.is_sweep_override()]
    if math.prod(len(v) for v in values) <= CHECK_ALL_JOBS:
        return flags, [list(job) for job in itertools.product(*values)], swept
    first = [v[0] for v in values]
    jobs = [first] + [first[:i] + [v] + first[i + 1 :] for i, vs in enumerate(values) for v in vs[1:]]
    return flags, jobs, swept


def launcher_problem(launcher: DictConfig) -> str | None:
    """A launcher whose Hydra plugin is not installed (Hydra would fail deep inside, or loop)."""
    parts = str(launcher.get("_target_", "")).split(".")
    if len(parts) < 3 or parts[0] != "hydra_plugins" or importlib.util.find_spec(".".join(parts[:2])) is not None:
        return None
    package = parts[1].replace("_", "-")  # hydra_plugins.hydra_ray_launcher: pip's hydra-ray-launcher
    return f"this hydra/launcher needs Hydra's {package} plugin, which is not installed. Fix: pip install {package}"


def job_problem(config: Config, sweep: list[str]) -> str | None:
    """What the library would refuse in this job's settings (`sweep`: its swept values), before
    any job runs."""
    if config.predict:
        if config.resume:
            return "predict= and resume= together. Fix: resume the run first, then predict with it"
        if not Path(config.predict).is_dir():
            return f"predict={config.predict} is not a directory. Fix: give a finished run's directory (printed as 'records:')"
        return None  # the run's saved model is used; its data config, with data.* overrides
    if config.resume:
        if not Path(config.resume).is_dir():
            return f"resume={config.resume} is not a directory. Fix: give the run directory printed as 'records:'"
        return None  # the run's saved config is used, not this one
    try:
        check_config(config)
    except InputError as err:
        where = f" (in the sweep job {' '.join(sweep)})" if sweep else ""
        return f"{err.problem}{where}. Fix: {err.fix}" if err.fix else f"{err.problem}{where}"
    return None


def config_problem(args: list[str]) -> str | None:
    """Compose every job's config as Hydra will and check it as the library will, to turn a typo,
    a wrong type or an impossible setting into one clear line before anything runs."""
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
    flags, jobs, swept = parsed
    config_dir = str(Path(flags.get("path") or conf_dir()).resolve())
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
            for overrides in jobs:
                cfg = compose(flags.get("name") or "config", overrides=overrides, return_hydra_config=True)
                problem = launcher_problem(cfg.hydra.launcher)
                with open_dict(cfg):
                    del cfg["hydra"]
                config: Config = OmegaConf.to_object(cfg)  # type: ignore[assignment]
                problem = problem or job_problem(config, [overrides[i] for i in swept])
                if problem:
                    return problem
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


def resume_in_place(args: list[str]) -> list[str]:
    """`resume=<run dir>`: Hydra's folder for this invocation is the resumed run itself, and Hydra
    writes nothing into it, so the resume leaves no stray outputs/<date>/<time>/ folder."""
    given = [arg.partition("=")[2] for arg in args if arg.startswith("resume=")]
    if not given or given[-1] in ("", "null") or {"-m", "--multirun"} & set(args) \
            or any(arg.startswith("hydra.run.dir=") for arg in args):
        return args
    return [*args, f"hydra.run.dir={given[-1]}", "hydra.output_subdir=null"]


def main() -> None:
    """Console entry point (`growlstm`)."""
    try:
        problem = config_problem(sys.argv[1:]) or writable_run_dir(sys.argv[1:])
        if problem:
            print(f"growlstm: error: {problem}", file=sys.stderr)
            sys.exit(2)
        sys.argv = [sys.argv[0], *resume_in_place(sys.argv[1:])]
        hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")(run)()
    except KeyboardInterrupt:  # before a run started (run() handles its own)
        print("growlstm: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
