# Bytepress developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test install lint format check lock clean pygments-css bench vnu html-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the pinned requirements change.
$(STAMP): requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

run: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py seed_demo
	DJANGO_DEBUG=1 $(BIN)/python manage.py ensure_local_admin --origin http://$(HOST):$(PORT)
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production profile: debug off, the settings from the environment (README,
# "Deploying"), gunicorn on 127.0.0.1:8000 (BYTEPRESS_BIND) behind nginx.
serve: install
	DJANGO_DEBUG=0 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=0 $(BIN)/python manage.py collectstatic --noinput -v0
	DJANGO_DEBUG=0 $(BIN)/gunicorn -c config/gunicorn.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The Nu HTML Checker (vnu.jar, needs Java 11+) behind tests/test_html_validity.py, pinned
# and installed from npm into the git-ignored .tools/; reinstalled when the pin changes.
VNU_VERSION := 26.9.27
VNU_STAMP := .tools/vnu-jar-$(VNU_VERSION).stamp

$(VNU_STAMP):
	@command -v java >/dev/null || { echo "vnu needs Java: apt-get install default-jre-headless" >&2; exit 1; }
	@# --ignore-scripts: its postinstall would download a JDK; we use the system's Java.
	npm install --prefix .tools --no-save --no-audit --no-fund --ignore-scripts vnu-jar@$(VNU_VERSION)
	touch $(VNU_STAMP)

vnu: $(VNU_STAMP)

# Every page of the demo site through the Nu HTML Checker.
html-check: install vnu
	$(BIN)/python -m pytest tests/test_html_validity.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py check
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# wrk, the load generator behind `make bench`, from Debian's packages (needs root).
/usr/bin/wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } \
	  || { echo "make bench needs wrk: apt-get install -y wrk (as root)" >&2; exit 1; }

# wrk against each reader page under gunicorn, page cache off and on, beside a static
# file; 10,000 long-form posts, and a growth table at 1,000 and 100,000 (about 15 min).
# Writes bench/results.md. Sizes and durations: see the top of scripts/bench.py.
bench: install /usr/bin/wrk
	$(BIN)/python scripts/bench.py

# 50 concurrent readers for 60 s against the production profile (gunicorn, page cache,
# Redis db 11) on a scratch PostgreSQL database, while a writer publishes and edits a post
# every second; fails on any 5xx, lost edit or listed post that 404s. Writes bench/load.md.
# LOADTEST_SECONDS=10 LOADTEST_CLIENTS=10 make loadtest for a quick run (see the script).
.PHONY: loadtest
loadtest: install
	$(BIN)/python scripts/loadtest.py

# Re-pin every dependency (runtime and dev) from pyproject.toml into requirements.lock.
lock:
	rm -rf /tmp/bytepress-lock && $(PYTHON) -m venv /tmp/bytepress-lock
	/tmp/bytepress-lock/bin/pip install --quiet --upgrade pip
	/tmp/bytepress-lock/bin/pip install --quiet ".[dev]"
	/tmp/bytepress-lock/bin/pip freeze --exclude bytepress > requirements.lock

# Code highlighting colours; both styles keep every token at WCAG AA contrast.
pygments-css: install
	{ echo "/* Code highlighting (Pygments classes), chosen for WCAG AA contrast on every token:"; \
	  echo "   light = xcode (>= 5:1), dark = monokai (>= 4.5:1). Regenerate: make pygments-css */"; \
	  $(BIN)/pygmentize -S xcode -f html -a .highlight; \
	  echo "@media (prefers-color-scheme: dark) {"; \
	  $(BIN)/pygmentize -S monokai -f html -a .highlight; \
	  echo "}"; } > static/css/pygments.css

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles .tools
