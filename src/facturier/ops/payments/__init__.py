"""Payments: `pay` and `import-bank`, allocated to the open invoices of the ledger state.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package.
"""
