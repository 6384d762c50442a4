"""The batch invoicing service: inbox CSV files validated whole, archived, issued row by row,
and the monthly ZIP of each batch client.

`plan` makes a run's plan (`ops.plan`: interrupted batches to resume, each inbox file's
verdict), reports it for `batch --dry-run` and carries it out; `process` is what applying
it does; `rows` validates rows; `monthly_zip` builds the ZIPs.

May import core, config, store, render, adapters and the shared ops modules; never a sibling
feature package.
"""
