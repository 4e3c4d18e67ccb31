PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PERIOD ?= 2026-10
DATA ?= portal-data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install test demo serve browser bench lint fixtures clean

# The virtual environment, (re)built when it is missing or older than the project's build files.
$(STAMP): setup.cfg setup.py pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "需要 Python 3.11（或设置 PY=python3.12）"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[test]'
	@$(MAKE) --no-print-directory browser
	@$(BIN)/sharecheck --version
	@touch $(STAMP)

install:
	@rm -f $(STAMP)
	@$(MAKE) --no-print-directory $(STAMP)

# Debian's Chromium and a CJK font for the browser tests (root only; without them those tests say why they skip).
browser:
	@if [ -x /usr/bin/chromium ]; then echo "浏览器测试：使用 /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-wqy-microhei >/dev/null) && echo "浏览器测试：已安装 Chromium" \
	  || echo "无法安装 Chromium：浏览器测试将跳过（API 测试照常运行）"; \
	else echo "没有 /usr/bin/chromium 且不是 root：浏览器测试将跳过。以 root 运行：apt-get install -y --no-install-recommends chromium fonts-wqy-microhei"; fi

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

demo: $(STAMP)
	$(BIN)/sharecheck validate fixtures/sample/exports
	$(BIN)/sharecheck run fixtures/sample/exports --period $(PERIOD) --out 审计结果/$(PERIOD)

# The audit portal on $(HOST):$(PORT), data under ./$(DATA); the first start prints the admin's one-time password.
serve: $(STAMP)
	$(BIN)/sharecheck serve --data $(DATA) --host $(HOST) --port $(PORT)

fixtures: $(STAMP)
	$(BIN)/python -m fixtures.generate --sample fixtures/sample

# the peers that `make bench` measures beside the engine (pandera, XlsxWriter): the `bench` extra
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

# issue 8, A8: the long fuzzing budget (the normal suite runs a short fixed one); failing inputs are kept in
# bench/out/fuzz-failures
.PHONY: fuzz
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	FUZZ_LONG=1 FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:xdist tests/test_fuzz.py

# what hostile inputs cost, and the input guards' own cost (issue 8)
# issue 11: 10M and 50M exchange rows in 31 Parquet parts, each engine (pandas only where it fits); see bench/big.py
.PHONY: bench-big
bench-big: $(STAMP)
	$(BIN)/python -m bench.big

.PHONY: bench-hostile
bench-hostile: $(STAMP)
	$(BIN)/python -m bench.hostile

lint: $(STAMP)
	$(BIN)/python -m compileall -q checker fixtures bench tests

clean:
	rm -rf $(VENV) 审计结果 fixtures/scale fixtures/scale_parts bench/out .pytest_cache test-output
