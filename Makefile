PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PERIOD ?= 2026-10

.PHONY: install test demo bench lint fixtures clean

install:
	@command -v $(PY) >/dev/null 2>&1 || { echo "需要 Python 3.11（或设置 PY=python3.12）"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[test]'
	@$(BIN)/sharecheck --version

test:
	$(BIN)/python -m pytest -n 2 -q

demo:
	$(BIN)/sharecheck validate fixtures/sample/exports
	$(BIN)/sharecheck run fixtures/sample/exports --period $(PERIOD) --out 审计结果/$(PERIOD)

fixtures:
	$(BIN)/python -m fixtures.generate --sample fixtures/sample

bench:
	$(BIN)/python -m bench.run

# issue 8, A8: the long fuzzing budget (the normal suite runs a short fixed one); failing inputs are kept in
# bench/out/fuzz-failures
.PHONY: fuzz
FUZZ_EXAMPLES ?= 300
fuzz:
	FUZZ_LONG=1 FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:xdist tests/test_fuzz.py

# what hostile inputs cost, and the input guards' own cost (issue 8)
.PHONY: bench-hostile
bench-hostile:
	$(BIN)/python -m bench.hostile

lint:
	$(BIN)/python -m compileall -q checker fixtures bench tests

clean:
	rm -rf $(VENV) 审计结果 fixtures/scale bench/out .pytest_cache
