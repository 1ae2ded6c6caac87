# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test gui bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/labctl run fluence-sweep --sim --sample cspbbr3_film_fs --out runs/demo

# pytest exits 5 when it collects no tests; that is a failure here too.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

gui: $(STAMP)
	$(BIN)/labctl gui --sim

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The README's pictures of the window during simulated runs (Debian: xvfb, libxcb-icccm4,
# libxcb-keysyms1, libxcb-xinerama0). Takes about four minutes.
screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python scripts/screenshots.py --out docs/images

clean:
	rm -rf $(VENV) runs build *.egg-info
