# The two commands of the README: `make demo` and `make test`. Both bootstrap .venv from
# nothing and are idempotent (the install step reruns only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of PyTorch. On these machines pip finds it in its local find-links; elsewhere
# set TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu" (see DEVELOPERS.md).
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: install demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/moonbot demo

lint: $(STAMP)
	$(BIN)/ruff check bot engine ml tests bench
	$(BIN)/ruff format --check bot engine ml tests bench

typecheck: $(STAMP)
	$(BIN)/mypy engine ml bot

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/moonbot bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
