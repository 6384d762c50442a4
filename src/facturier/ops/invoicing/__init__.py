"""Direct invoicing: the monthly invoices of `run` and the credit notes of `credit`.

May import core, config, store, render, adapters and the shared ops modules (report, logs,
issuing, documents, state, views); never a sibling feature package.
"""
