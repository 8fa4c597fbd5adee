"""The benchmarks' harness: shared data sets (``data``), scoring (``score``), result tables
(``table``) and runs of growlstm in fresh processes (``run``).

Each ``scripts/bench_*.py`` is a short file on top of it; put ``scripts/`` on ``sys.path``
(the scripts do) and ``from bench.data import M1_DIR``.
"""
