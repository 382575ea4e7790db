# Bytepress developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format check lock clean

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
	DJANGO_DEBUG=1 $(BIN)/python manage.py ensure_local_admin --url http://$(HOST):$(PORT)/admin/
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py check
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Re-pin every dependency (runtime and dev) from pyproject.toml into requirements.lock.
lock:
	rm -rf /tmp/bytepress-lock && $(PYTHON) -m venv /tmp/bytepress-lock
	/tmp/bytepress-lock/bin/pip install --quiet --upgrade pip
	/tmp/bytepress-lock/bin/pip install --quiet ".[dev]"
	/tmp/bytepress-lock/bin/pip freeze --exclude bytepress > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
