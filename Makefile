# One command sets up and runs the demo (`make demo`), one the tests (`make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
DISTRIBUTIONS := -e ".[all,dev,docs]" -e neutone_adapters/mixer -e neutone_adapters/fifo -e neutone_adapters/resample -e neutone_adapters/stft \
	-e plugins/neutone-blocks -e plugins/neutone-torchscript -e plugins/neutone-knob-smoother \
	-e plugins/neutone-nn-tilde -e plugins/neutone-ronn
STAMP := $(VENV)/.installed

.PHONY: install demo test lint docs dist bench clean

$(STAMP): pyproject.toml neutone_adapters/*/pyproject.toml plugins/*/pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PY) -m pip install --quiet $(DISTRIBUTIONS)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check .

test: $(STAMP) lint docs
	$(PY) -m pytest
	ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE $(PY) -m pytest -m numerics -q

# the documentation site, warnings as errors, into build/site
docs: $(STAMP)
	$(PY) -m mkdocs build --strict --quiet

# a wheel and an sdist of every distribution into dist/ (a build that warns fails)
dist: $(STAMP)
	$(PY) scripts/build_dist.py dist

SDK_WHEEL_DIR := build/neutone_sdk

$(SDK_WHEEL_DIR)/neutone_sdk:
	$(PY) -m pip download --quiet --no-deps --dest $(SDK_WHEEL_DIR) neutone_sdk==1.5.2
	cd $(SDK_WHEEL_DIR) && $(PY) -m zipfile -e neutone_sdk-*.whl .

bench: $(STAMP) $(SDK_WHEEL_DIR)/neutone_sdk
	$(PY) -m benchmarks.bench_overhead --sdk-path $(SDK_WHEEL_DIR) --write-results
	$(PY) -m benchmarks.bench_resample --sdk-path $(SDK_WHEEL_DIR) --write-results
	$(PY) -m benchmarks.bench_blocks --sdk-path $(SDK_WHEEL_DIR) --write-results

clean:
	rm -rf $(VENV) build out
