# The two commands of the README, and what they need.
#   make demo   set up everything, start the local control plane and the operator, run the
#               breast-cancer example end to end and print its results
#   make test   set up everything and run the whole test suite
#   make down   stop the operator and the local control plane

# Python 3.11 (requirements.lock is resolved for it): python3.11 when on PATH, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: demo test down venv cluster-binaries root

# The local control plane's node gives each container its own mount namespace, which needs root.
root:
	@test "$$(id -u)" = 0 || { echo "run as root: the local node mounts each pod's volumes in a private mount namespace" >&2; exit 1; }

demo: root venv cluster-binaries
	$(BIN)/featurestore-operator dev demo

test: root venv cluster-binaries
	$(BIN)/python -m pytest

down:
	$(BIN)/featurestore-operator dev down

venv: $(VENV)/.installed

# One locked set of packages (requirements.lock, made by `uv pip compile` from pyproject.toml).
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
		{ echo "Python 3.11 is required (requirements.lock is resolved for it); set PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

# etcd, kube-apiserver, kube-controller-manager and kube-scheduler from their Go modules.
# The first build takes about ten minutes on two cores; later runs reuse the cache.
cluster-binaries: venv
	$(BIN)/python -m devcluster build
