# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl

.PHONY: demo test install clean device-prepare device-dry-run wheel-check

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: the pinned release resolves to the local CPU build where no GPU is
	# present, so pip never pulls the CUDA packages for the dependencies below.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rl-aug demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

# The wheel as a user gets it: built, installed into a clean virtualenv, run from outside the repository.
wheel-check: $(STAMP)
	PYTHON=$(PY) bash .ci/wheel_check.sh

# The GPU device run (benchmarks/device.sh): wheels and GL libraries for a Python 3.12 machine with no index.
device-prepare:
	$(PYTHON) benchmarks/device_prepare.py

# The same script on this CPU, tiny budgets, same stages and files (also run by tests/test_device_script.py).
device-dry-run: $(STAMP)
	PYTHON=$(PY) bash benchmarks/device.sh --dry-run

clean:
	rm -rf $(VENV) runs
