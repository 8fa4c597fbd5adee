"""The `growlstm` command: the only module that imports Hydra.

Hydra composes conf/ over the typed schema (a typo or a wrong type fails at compose time); the
composed config becomes a plain `Config`, and the library does the rest.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from growlstm.config import SCHEMA_NAME, Config
from growlstm.data import load
from growlstm.errors import InputError
from growlstm.report import format_report
from growlstm.search import grow

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
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    setup_console(run_dir, config.verbose)
    try:
        result = grow(load(config.data), config, run_dir=run_dir)
    except InputError as err:
        message = f"growlstm: error: {err}"
        print(message, file=sys.stderr)
        (run_dir / "error.txt").write_text(message + "\n")
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            return  # one bad job must not stop the sweep; its folder says why
        sys.exit(2)
    print()
    print(format_report(result))
    print(f"records: {run_dir}  ({result.seconds:.1f}s)")


def main() -> None:
    """Console entry point (`growlstm`)."""
    hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")(run)()


if __name__ == "__main__":
    main()
