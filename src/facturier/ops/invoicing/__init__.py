"""Direct invoicing: the monthly invoices of `run` and the credit notes of `credit`, each a
plan (`ops.plan`) that a dry run reports and a real run applies.

May import core, config, store, render, adapters and the shared ops modules (report, logs,
plan, issuing, documents, state, views); never a sibling feature package.
"""
