"""Payments: `pay` and `import-bank`, allocated to the open invoices of the ledger state.

`import-bank` matches a statement into a plan (`bank.BankImport`, an `ops.plan.Plan`),
applied only when every line was accepted.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package.
"""
