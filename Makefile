# Two commands for a fresh machine: `make demo` and `make test` (both set up first).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv as make setup installed it (infra/uv.sh looks where setup puts it); after setup.
UV = $(shell bash infra/uv.sh || echo uv)
DEBIAN_PACKAGES := ffmpeg tesseract-ocr tesseract-ocr-eng espeak-ng chromium postgresql iproute2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Prefect's home is the project's own: ~/.prefect stays untouched.
export PREFECT_HOME ?= $(CURDIR)/data/prefect

.PHONY: help setup demo test lint serve bench clean

help:
	@echo "make demo   set up, then run the main job on embedded defaults"
	@echo "make test   set up, then run the test suite"
	@echo "make lint   ruff + mypy"
	@echo "make serve  Prefect server on 127.0.0.1:4200 plus Tessera's deployments"
	@echo "make bench  run the benchmarks under bench/"

setup:
	@bash infra/setup.sh

demo: setup
	$(UV) run --frozen python -m flows.demo

test: setup
	$(UV) run --frozen pytest -q

lint: setup
	$(UV) run --frozen ruff check flows tasks tests bench
	$(UV) run --frozen ruff format --check flows tasks tests bench
	$(UV) run --frozen mypy

serve: setup
	@bash infra/serve.sh

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(UV) run --frozen python $$b || exit 1; done

clean:
	rm -rf data/lancedb data/state data/checkpoints data/thumbnails data/samples data/reports
