"""Delivery by email: invoice emails and batch ZIPs under the send rules, operator alerts.

`send.plan_deliveries` is the plan (`ops.plan`) of `send` and of `run`'s sending step.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package (the monthly ZIP is read from its file, not rebuilt here).
"""
