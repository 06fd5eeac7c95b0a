# The two commands of the README: `make run` and `make test`.
# They use the newest supported Python found here (3.13, 3.12, then 3.11: on PATH, or under
# ~/.pyenv/versions), or PYTHON=/path/to/python3.X, and say which.
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for v in 3.13 3.12 3.11; do for p in python$$v $$HOME/.pyenv/versions/$$v*/bin/python$$v; do \
	$$p -c '' 2>/dev/null && { echo $$p; exit 0; }; done; done)
endif
PYVER  := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(PYVER)
PROTOS := $(wildcard protos/points/v1/*.proto)
BASELINE := protos/baseline/points-v1.binpb

.PHONY: run test install proto client-proto lint breaking proto-baseline bench soak clean python

run: $(STAMP)
	@echo "points: Python $(PYVER) ($(PYTHON))"
	$(BIN)/points serve

test: $(STAMP)
	@echo "points: Python $(PYVER) ($(PYTHON))"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

# The Python chosen, as X.Y (for .ci/run).
python:
	@echo $(PYVER)

$(STAMP): pyproject.toml
	@test -n "$(PYVER)" || { echo "error: no Python 3.11, 3.12 or 3.13 runs here; install one, or run make PYTHON=/path/to/python3.X"; exit 1; }
	@echo "points: installing into $(VENV) with Python $(PYVER) ($(PYTHON))"
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Regenerate the committed protobuf/gRPC code, the server's and the Python client's (tests check both are in sync).
proto: $(STAMP) client-proto
	$(BIN)/python -m points.protogen

# The Python client's copy only (clients/python/src/points_client/v1).
client-proto: $(STAMP)
	$(BIN)/python clients/python/tools/protogen.py

lint: $(STAMP)
	$(BIN)/buf lint protos

# Fails on a change to protos/points that breaks clients built from the baseline (tests run it too).
breaking: $(STAMP)
	$(BIN)/buf breaking protos --against $(BASELINE)

# At a release only: the protos as they are become the baseline `make breaking` holds later changes to
# (docs/api.md, Compatibility). Comments are left out: they cannot break a client.
proto-baseline: $(STAMP)
	$(BIN)/buf build protos --exclude-source-info -o $(BASELINE)

bench: $(STAMP)
	$(BIN)/python -m tests.bench.record_events $(BENCH_ARGS)

# Five minutes of mixed load against real processes (not part of `make test`); see the README.
soak: $(STAMP)
	$(BIN)/python -m tests.faults.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info services/*.egg-info
