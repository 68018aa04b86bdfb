# rollbook: `make demo` (sandbox + a real rollback) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: venv tools sandbox sandbox-down sandbox-status demo test test-unit test-e2e bench

venv: $(VENV)/.installed

# the requirements, then rollbook itself (editable: `rollbook ...` on the virtualenv's PATH runs this checkout)
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	cp requirements.txt $@

sandbox: venv
	$(BIN)/python -m rollbook sandbox up

sandbox-down: venv
	$(BIN)/python -m rollbook sandbox down

sandbox-status: venv
	$(BIN)/python -m rollbook sandbox status

demo: sandbox
	$(BIN)/python -m rollbook demo

# Debian's tools the tests run: promtool (the alert rules, from the prometheus package), shellcheck
# (the commands rollbook sends to hosts) and chromium (the console's browser tests, driven by playwright)
tools:
	@command -v promtool >/dev/null && command -v shellcheck >/dev/null && test -x /usr/lib/chromium/chromium || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		prometheus shellcheck chromium; }

test: venv tools
	$(BIN)/python -m pytest

test-unit: venv tools
	$(BIN)/python -m pytest -m "not e2e"

test-e2e: venv
	$(BIN)/python -m pytest -m e2e

bench: venv
	$(BIN)/python -m bench.run
