# jupyter_mltrain: `make lab` opens JupyterLab on notebooks/, `make test` sets up and runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup system horovod test test-fast lab bench clean

WIDGET_JS := jupyter_mltrain/widget/static/widget.js
WIDGET_SRC := $(wildcard jupyter_mltrain/widget/js/*.js jupyter_mltrain/widget/js/*.css)

setup: $(STAMP) $(WIDGET_JS)

# The notebook widget's JavaScript: bundled from npm packages (uPlot, ansi_up) with esbuild.
$(WIDGET_JS): package.json package-lock.json $(WIDGET_SRC)
	npm ci --no-audit --no-fund
	npm run build:widget

system:
	bash scripts/setup-system.sh

$(STAMP): pyproject.toml | system
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP)

horovod: $(STAMP)
	bash scripts/build-horovod.sh $(abspath $(PY))

# tests/server runs apart: pytest-jupyter's plugin has autouse fixtures that must not reach the other tests.
# A JupyterServerAuthWarning (a handler without auth decorators) fails the build.
SERVER_TESTS := -p pytest_jupyter.jupyter_server -p no:logging -W error::jupyter_server.utils.JupyterServerAuthWarning tests/server

test: setup horovod
	$(PY) -m pytest -ra tests --ignore=tests/server
	$(PY) -m pytest -ra $(SERVER_TESTS)

test-fast: setup
	$(PY) -m pytest -ra -m "not slow" tests --ignore=tests/server
	$(PY) -m pytest -ra $(SERVER_TESTS)

LAB_STAMP := $(VENV)/.lab-installed

$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install -e '.[test,lab]'
	touch $(LAB_STAMP)

lab: $(LAB_STAMP) horovod
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info node_modules jupyter_mltrain/widget/static
