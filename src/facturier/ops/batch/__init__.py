"""The batch invoicing service: inbox CSV files validated whole, archived, issued row by row,
and the monthly ZIP of each batch client.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package.
"""
