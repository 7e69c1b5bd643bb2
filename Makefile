# The two Quickstart commands, with set-up included: each makes .venv when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo example test bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/retrotime demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks.replay
	$(BIN)/python -m benchmarks.readers

EXAMPLE := examples/riverside
example: $(STAMP)
	@mkdir -p out
	$(BIN)/retrotime replay $(EXAMPLE) --database-url sqlite:///$(CURDIR)/out/example.db \
	  $(foreach r,START K5 K10 K15 FIN,--log $(r)=$(EXAMPLE)/logs/$(r).log) \
	  --table --json out/results.json
