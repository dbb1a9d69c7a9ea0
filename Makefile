# Every target sets itself up on first use: a .venv with the Python packages, and the
# Debian packages (poppler-utils for pdfimages, chromium for browser tests, postgresql for
# the PostgreSQL store tests) when run as root.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PREFECT_ENV := DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false \
	PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=90 PREFECT_HOME=$(CURDIR)/.prefect
# Use a local Prefect server (make server) when one answers; else a temporary one per run.
# A PREFECT_API_URL of the caller's reaches the run through the environment, as it came.
PREFECT_LOCAL := http://127.0.0.1:4200/api
PREFECT_API := $(if $(PREFECT_API_URL),,$(shell curl -sf -m 1 $(PREFECT_LOCAL)/health >/dev/null 2>&1 && echo $(PREFECT_LOCAL)))
RUN := $(PREFECT_ENV) $(if $(PREFECT_API),PREFECT_API_URL=$(PREFECT_API)) $(PY)
# Values from the command line (file names, DOIs, URLs) reach recipes only through the
# environment, quoted as "$$NAME": never written into a shell line, where backticks, $(...)
# or quotes in them would run (make extract PDF='x`touch y`.pdf'). Taken as written, so
# make does not expand a $(...) in them either.
ARGUMENTS := PDF DOI URL MAX WATCHLIST FROM UNTIL QUERY POOL
$(foreach name,$(ARGUMENTS),$(eval override $(name) := $$(value $(name))))
export $(ARGUMENTS)
# (PREFECT_API_URL is not exported here: make would pass an unset one as empty, and Prefect's
# events then go nowhere, an error logged for each of them.)

.PHONY: setup system-deps extract test lint bench eval server review staged export help \
	nightly serve demo backfill worker

help:
	@echo "make extract PDF=paper.pdf [DOI=10.x/y]   extract one paper and stage its X-ray/CT images"
	@echo "make extract DOI=10.x/y                    resolve a DOI, find its open-access PDF, extract it"
	@echo "make test                                  set up and run the test suite"
	@echo "make review                                the review page on 127.0.0.1 (approve, edit, reject, export)"
	@echo "make nightly [MAX=n]                       one nightly run now (report in metadata/reports/)"
	@echo "make serve                                 nightly deployment on the cron in configs/nightly.toml (needs make server)"
	@echo "make server                                local Prefect server and UI on 127.0.0.1:4200"
	@echo "make backfill FROM=2020-01-01 UNTIL=2020-12-31 [QUERY=...] [MAX=n]"
	@echo "                                           works published in the range, on the pool's workers (docs/scaling.md)"
	@echo "make worker [POOL=backfill]                a Prefect worker for backfills on this machine (needs PREFECT_API_URL)"
	@echo "make demo                                  the whole path offline, from discovery to the review page"
	@echo "make staged | export | bench | eval | lint"

setup: $(STAMP) system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[flows,postgres,dev]'
	touch $(STAMP)

system-deps:
	@missing=""; \
	command -v pdfimages >/dev/null || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing -- run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

extract: setup
ifeq ($(strip $(PDF)$(DOI)$(URL)),)
	@echo "usage: make extract PDF=path/to/paper.pdf [DOI=...] | DOI=10.x/y | URL=case-page-url" >&2; exit 2
endif
	$(RUN) -m flows.extract $(if $(PDF),--pdf "$$PDF") $(if $(DOI),--doi "$$DOI") $(if $(URL),--url "$$URL")

test: setup
	$(PREFECT_ENV) $(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

nightly: setup
	$(RUN) -m flows.nightly $(if $(MAX),--max-sources "$$MAX") $(if $(WATCHLIST),--watchlist "$$WATCHLIST")

serve: setup
	$(RUN) -m flows.deploy

backfill: setup
ifeq ($(and $(FROM),$(UNTIL)),)
	@echo "usage: make backfill FROM=2020-01-01 UNTIL=2020-12-31 [QUERY=...] [MAX=n]; it needs" \
	  "a Prefect server and workers (make server, make worker: docs/scaling.md)" >&2; exit 2
endif
	$(RUN) -m flows.backfill --from "$$FROM" --until "$$UNTIL" $(if $(QUERY),--query "$$QUERY") \
	  $(if $(MAX),--max-sources "$$MAX")

# One flow run at a time per worker: a flow run already uses the machine's cores (threads).
worker: setup
	$(PREFECT_ENV) $(if $(PREFECT_API),PREFECT_API_URL=$(PREFECT_API)) PREFECT_WORKER_QUERY_SECONDS=2 \
	  $(VENV)/bin/prefect worker start --pool "$${POOL:-backfill}" --limit 1

demo: setup
	$(RUN) -m flows.demo

review: setup
	$(PY) -m pipeline review

staged: setup
	$(PY) -m pipeline staged

export: setup
	$(PY) -m pipeline export

server: setup
	$(PREFECT_ENV) $(VENV)/bin/prefect server start --host 127.0.0.1 --port 4200

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Every evaluation runs; the target fails if any fell below a floor in bench/floors.toml.
eval: setup
	@failed=""; for script in bench/eval_*.py; do echo "== $$script"; \
	  $(PY) $$script || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "eval gate failed:$$failed" >&2; exit 1; fi
