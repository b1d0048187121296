# The two commands: `make run` and `make test` (both set everything up on a fresh machine).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint typecheck pytest setup postgres system-packages messages clean

# Debian libraries WeasyPrint (PDF letters) loads at run time, and the Chromium the browser tests
# drive through Playwright (never `playwright install`: its download is refused here); installed
# only when one is missing.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core chromium

# The compiled UI catalogs (defined before the rules that need them: prerequisites expand as read).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po))

run: setup
	$(BIN)/arcadence db upgrade
	$(BIN)/arcadence run

test: setup postgres lint typecheck pytest

bench: setup postgres
	$(BIN)/python bench/run.py

setup: system-packages $(STAMP) $(CATALOGS)

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The UI's translations: each web/translations/<lang>/LC_MESSAGES/messages.po is compiled to its
# messages.mo (not committed). `make messages` extracts the strings of web/ (babel.cfg; `_l` is
# lazy_gettext) and merges the new ones into every .po, to be translated there.

web/translations/%/LC_MESSAGES/messages.mo: web/translations/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -l $* -i $< -o $@

messages: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d web/translations --no-wrap --ignore-obsolete

# PostgreSQL serves the storage and concurrency tests on 127.0.0.1:5432; start it if it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" >&2; exit 1; }

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy core connector

# pytest exits 5 when it collected no test: that is a failure here too (make stops on any non-zero exit).
pytest:
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
