# V2G Console: `make run` starts the console on the demo site, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt | sha1sum | cut -c1-12)

.PHONY: run test bench soak lint test-deps clean

$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py

# What the tests need from Debian, installed only when missing: chromium + chromium-driver for the
# browser tests, the PostgreSQL server for the PostgreSQL test, mosquitto (an MQTT broker in /usr/sbin)
# for the site meter tests.
test-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
			|| ! PATH="$$PATH:/usr/sbin" command -v mosquitto >/dev/null \
			|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-dejavu-core postgresql mosquitto >/dev/null; \
	fi
	@chromium --version 2>/dev/null | grep -v 'unexpected operator' || true

test: $(STAMP) test-deps
	$(PY) -m pytest -q

bench: $(STAMP)
	@for script in tests/benchmarks/bench_*.py; do \
		echo "== $$script"; $(PY) $$script || exit 1; \
	done
	@echo "== tests/benchmarks/soak.py"; $(PY) tests/benchmarks/soak.py

# The whole stack for 7 simulated days with faults (about 17 real minutes); see README, "Soak benchmark".
soak: $(STAMP)
	$(PY) tests/benchmarks/soak.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache
