"""Delivery by email: invoice emails and batch ZIPs under the send rules, operator alerts.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package (the monthly ZIP is read from its file, not rebuilt here).
"""
