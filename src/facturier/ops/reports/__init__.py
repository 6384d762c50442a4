"""Read-only reports: balances and aging, document listings, accounting exports.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package.
"""
