# rollbook: `make demo` (sandbox + a real rollback) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: venv sandbox sandbox-down sandbox-status demo test test-unit test-e2e bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	cp requirements.txt $@

sandbox: venv
	$(BIN)/python -m rollbook sandbox up

sandbox-down: venv
	$(BIN)/python -m rollbook sandbox down

sandbox-status: venv
	$(BIN)/python -m rollbook sandbox status

demo: sandbox
	$(BIN)/python -m rollbook demo

test: venv
	$(BIN)/python -m pytest

test-unit: venv
	$(BIN)/python -m pytest -m "not e2e"

test-e2e: venv
	$(BIN)/python -m pytest -m e2e

bench: venv
	$(BIN)/python -m bench.run
