"""`python -m growlstm ...`: the same as the `growlstm` command (handy from a checkout or a venv)."""

from growlstm.cli import main

main()
