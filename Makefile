# Collections Workbench: the two set-up commands are `make report` and `make test`.
# Each creates .venv (Python >= 3.11) when missing and installs the project into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := data/demo
DEMO_INVOICES ?= 20000
QUARTER ?= last
# keep Jupyter/IPython/matplotlib state inside the project, not in ~
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: report test lab demo bench clean-demo venv credit-app serve

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (workbench)" >/dev/null
	@touch $@

# the marker names the demo's layout version: a demo from an older workbench is regenerated
DEMO_MARK := $(DEMO)/.demo-v4
$(DEMO_MARK): | $(BIN)/.installed
	$(BIN)/workbench demo --out $(DEMO) --invoices $(DEMO_INVOICES) --seed 7
	@touch $@

demo: $(DEMO_MARK)

## The main job: the quarter-end pack of the demo ledger's last closed quarter -> reports/<quarter>/
report: $(BIN)/.installed $(DEMO_MARK)
	WORKBENCH_COMPANY="$${WORKBENCH_COMPANY:-Demo Trading Co. (synthetic demo data)}" \
	$(BIN)/workbench report quarter-end --ledger $(DEMO) --quarter $(QUARTER)

## The whole test suite (unit, property, CLI, state concurrency, notebooks via papermill and nbval,
## the apps in Chromium, the state database on PostgreSQL): installs Debian's chromium and
## postgresql first when it can (tools/system-deps), else says the one command to run
test: $(BIN)/.installed $(DEMO_MARK)
	@tools/system-deps
	WORKBENCH_DB_URL=sqlite:///$(CURDIR)/.pytest_cache/workbench-test.db OMP_NUM_THREADS=1 \
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-current-env tests notebooks

## JupyterLab on the notebooks
lab: $(BIN)/.installed $(DEMO_MARK)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

## The Voila apps behind sign-in on http://127.0.0.1:8866 (docs/serving.md; first user:
## `$(BIN)/python -m workbench.serve adduser NAME --role manager`)
SERVE_ARGS ?=
CASHAPP_DEMO_RUN := data/cashapp/demo
# the cash-review app shows the suggested matches of the latest run under data/cashapp/
$(CASHAPP_DEMO_RUN)/summary.json: $(DEMO_MARK)
	$(BIN)/workbench cashapp --ledger $(DEMO) --bank $(DEMO)/bank/* --out $(CASHAPP_DEMO_RUN) --quiet

serve: $(BIN)/.installed $(DEMO_MARK) $(CASHAPP_DEMO_RUN)/summary.json
	$(BIN)/workbench serve $(SERVE_ARGS)

## Former name of `serve` (the credit-review page is one of the apps)
credit-app: serve

## Benchmarks (on demand, not in CI): 1M invoices by default
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_foundation.py --invoices 1000000
	$(BIN)/python benchmarks/bench_pack.py --invoices 1000000

clean-demo:
	rm -rf $(DEMO)
