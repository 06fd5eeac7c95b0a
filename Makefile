# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROTOS := $(wildcard protos/points/v1/*.proto)

.PHONY: run test install proto lint bench soak clean

run: $(STAMP)
	$(BIN)/points serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Regenerate the committed protobuf/gRPC code (tests check it is in sync).
proto: $(STAMP)
	$(BIN)/python -m points.protogen

lint: $(STAMP)
	$(BIN)/buf lint protos

bench: $(STAMP)
	$(BIN)/python -m tests.bench.record_events $(BENCH_ARGS)

# Five minutes of mixed load against real processes (not part of `make test`); see the README.
soak: $(STAMP)
	$(BIN)/python -m tests.faults.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info services/*.egg-info
