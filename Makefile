# The two commands of the README: `make run` and `make test`.
# Each one creates a virtual environment in .venv and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test test-next-year check

# With a token: the live bot. Without one: the local preview in a browser, so a fresh clone
# shows the bot working at once. `python -m bot` itself never falls back to the preview.
ifeq ($(strip $(TELEGRAM_BOT_TOKEN)),)
run: $(VENV)/.installed
	$(PY) -m bot preview
else
run: $(VENV)/.installed
	$(PY) -m bot
endif

# scripts/install-test-tools installs Debian's Chromium (browser tests) and libfaketime when missing.
test: $(VENV)/.installed-test
	scripts/install-test-tools
	$(PY) -m pytest -q

# The whole suite again with the system date a year ahead (CI runs both): a test that only
# passes near the day it was written fails here. The monotonic clock moves by the same
# constant offset, so timeouts and asyncio behave as usual (leaving it alone with
# FAKETIME_DONT_FAKE_MONOTONIC makes libfaketime fail time.sleep with EINVAL).
test-next-year: $(VENV)/.installed-test
	scripts/install-test-tools
	faketime -f "+365d" $(PY) -m pytest -q -p no:cacheprovider

check: $(VENV)/.installed
	$(PY) -m bot check

# Re-install only when the dependency list changes. Running the bot needs only its own
# dependencies; the tests add pytest and Playwright.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@
