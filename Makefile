# Two commands for a fresh machine: `make run` and `make test`; each sets up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
# CPU build by default; GPU users: make TORCH_SPEC="torch" run (or install torch in .venv first).
TORCH_SPEC ?= torch==2.13.0
BIN = $(VENV)/bin
STAMP = $(VENV)/.growlstm-installed
ARGS ?=

.PHONY: setup run test test-all clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, so the package's torch range is already satisfied (no CUDA download).
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: the growth search on the built-in monthly co2 series (add ARGS="data=sunspots ...").
run: $(STAMP)
	$(BIN)/growlstm $(ARGS)

# The fast test suite (slow tests excluded; `make test-all` includes them).
test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

clean:
	rm -rf $(VENV)
