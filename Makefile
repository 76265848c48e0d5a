# CityTwin. `make run` serves the demo city; `make test` runs every test. Both install what is missing.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PY := .venv/bin/python

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install Debian packages and the virtualenv (pinned in requirements.lock), if missing
	@bin/setup

run: ## Set up, start PostGIS/Redis/Mosquitto under var/, load the demo city, serve on :8000 (PORT=)
	@bin/run

test: ## Set up, lint, start the embedded stack, run the whole test suite (its own test database)
	@bin/test

bench: setup ## Benchmarks: ratios against baselines measured in the same run (see bench/README.md)
	@bin/bench

lint: setup ## ruff, mypy and the import-linter contracts (the one-way house)
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy apps city dashboards && .venv/bin/lint-imports

stop: ## Stop the embedded services started by an interrupted run
	@bin/stack stop

.PHONY: help setup run test bench lint stop
