"""Hydra glue and saved runs: the schema's name in the ConfigStore, and configs read back from run.yaml."""

from __future__ import annotations

from growlstm.config.schema import Config

# Name under which the CLI registers `Config` in Hydra's ConfigStore; recorded stage configs list
# it in their defaults so Hydra type-checks them like the primary config.
SCHEMA_NAME = "growlstm_schema"


# Settings older versions saved that no longer exist, ignored when their runs are read back
# (resume, predict): growth.overfit_ratio (alpha now rises on evidence that capacity hurts).
RETIRED = {"GrowthConfig": {"overfit_ratio"}}



def config_from_dict(data: dict, cls: type = Config) -> "Config":
    """Rebuild a config dataclass from plain data (a saved run.yaml), rejecting unknown keys."""
    import dataclasses
    import typing

    from growlstm.errors import InputError

    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    data = {k: v for k, v in data.items() if k not in RETIRED.get(cls.__name__, set())}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"unknown setting(s) {unknown} in a saved {cls.__name__}", "was it written by another growlstm version?")
    kwargs = {}
    for key, value in data.items():
        if dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
            value = config_from_dict(value, hints[key])
        kwargs[key] = value
    return cls(**kwargs)
