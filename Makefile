# jupyter_mltrain: `make lab` opens JupyterLab on notebooks/, `make test` sets up and runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup system horovod lint test test-fast lab bench clean

JUPYTER := $(abspath $(VENV))/bin/jupyter
# One front-end project, labextension/: the widget (src/widget) and the panel (src/panel) share src/common.
WIDGET_JS := jupyter_mltrain/widget/static/widget.js
WIDGET_SRC := $(shell find labextension/src/common labextension/src/widget -name '*.ts') \
  labextension/style/widget.css labextension/style/ansi.css labextension/style/charts.css
LABEXT := jupyter_mltrain/labextension/package.json
LABEXT_DEPS := labextension/node_modules/.package-lock.json
LABEXT_SRC := labextension/src/index.ts $(shell find labextension/src/common labextension/src/panel -name '*.ts') \
  $(wildcard labextension/style/*) labextension/package.json labextension/tsconfig.json

# Byte-compiled once here: every run starts interpreters (supervisor, rank agents) that import the package, and
# an environment with PYTHONDONTWRITEBYTECODE would compile it from source in each one (about 40 ms).
setup: $(STAMP) $(WIDGET_JS) $(LABEXT)
	$(PY) -m compileall -q jupyter_mltrain > /dev/null

system:
	bash scripts/setup-system.sh

# Order matters: the lab extension's build needs jupyterlab, and the package's install needs the built
# front-ends (the wheel's shared-data); then the extension is linked into the venv, so rebuilds show on reload.
$(STAMP): pyproject.toml labextension/package.json labextension/package-lock.json | system
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q 'jupyterlab>=4.4,<5'
	cd labextension && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	cd labextension && JUPYTER=$(JUPYTER) npm run build
	rm -rf $(VENV)/share/jupyter/labextensions/jupyter-mltrain  # an earlier setup's link: pip must not write through it
	$(PY) -m pip install -e '.[test]'
	rm -rf $(VENV)/share/jupyter/labextensions/jupyter-mltrain  # the install's copy: a link follows rebuilds
	ln -s $(abspath jupyter_mltrain/labextension) $(VENV)/share/jupyter/labextensions/jupyter-mltrain
	touch $(STAMP)

# The notebook widget (labextension/src/widget, TypeScript) bundled with uPlot and ansi_up by esbuild.
$(WIDGET_JS): $(WIDGET_SRC) $(LABEXT_DEPS) | $(STAMP)
	cd labextension && npm run build:widget

# The JupyterLab side panel (TypeScript, labextension/) as a prebuilt extension in jupyter_mltrain/labextension/.
$(LABEXT_DEPS): labextension/package.json labextension/package-lock.json
	cd labextension && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

$(LABEXT): $(LABEXT_SRC) $(LABEXT_DEPS) | $(STAMP)
	cd labextension && JUPYTER=$(JUPYTER) npm run build:panel

horovod: $(STAMP)
	bash scripts/build-horovod.sh $(abspath $(PY))

# tests/server runs apart: pytest-jupyter's plugin has autouse fixtures that must not reach the other tests.
# A JupyterServerAuthWarning (a handler without auth decorators) fails the build.
SERVER_TESTS := -p pytest_jupyter.jupyter_server -p no:logging -W error::jupyter_server.utils.JupyterServerAuthWarning tests/server

# Conventions, checked: ruff (lint + format), mypy --strict, import-linter's layer contracts (pyproject.toml);
# eslint + prettier for the front-end (labextension/package.json).
PY_SOURCES := jupyter_mltrain tests bench labextension/ui-tests/jupyter_server_test_config.py

lint: setup
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	cd labextension && npm run lint

test: setup horovod lint
	cd labextension && npm test
	$(PY) -m pytest -ra $(SERVER_TESTS)
	cd labextension && PATH=$(abspath $(VENV))/bin:$$PATH npm run ui-test
	$(PY) -m pytest -ra tests --ignore=tests/server

test-fast: setup lint
	cd labextension && npm test
	$(PY) -m pytest -ra $(SERVER_TESTS)
	$(PY) -m pytest -ra -m "not slow" tests --ignore=tests/server

LAB_STAMP := $(VENV)/.lab-installed

$(LAB_STAMP): $(STAMP)
	rm -rf $(VENV)/share/jupyter/labextensions/jupyter-mltrain
	$(PY) -m pip install -e '.[test,lab]'
	rm -rf $(VENV)/share/jupyter/labextensions/jupyter-mltrain
	ln -s $(abspath jupyter_mltrain/labextension) $(VENV)/share/jupyter/labextensions/jupyter-mltrain
	touch $(LAB_STAMP)

lab: setup $(LAB_STAMP) horovod
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info node_modules labextension/node_modules labextension/lib \
	  jupyter_mltrain/widget/static jupyter_mltrain/labextension
