"""The M4 subset for scripts that import ``m4`` (bench_baselines.py): now in bench/data.py."""

from bench.data import M4_DIR, M4Series, load_m4  # noqa: F401
