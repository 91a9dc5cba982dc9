# The two commands of the README: `make report` (the main job) and `make test`.
# Each sets up what it needs first, so both work on a fresh clone.
PYTHON ?= python3

.PHONY: setup report test lint

setup:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null); \
	  else echo "note: install Graphviz's dot program (apt-get install graphviz / brew install graphviz) to render graphs"; fi; }
	@command -v clang >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null); \
	  else echo "note: install clang (apt-get install clang) for tinygrad's CPU device in the atlas; without it tinygrad is reported unsupported"; fi; }
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[dev,atlas]'

report: setup
	$(PYTHON) -m reference run --workers 2 --order 2
	$(PYTHON) -m reference atlas --order 2

test: setup
	$(PYTHON) -m pytest -q

lint:
	$(PYTHON) -m ruff check autodiff reference tests
