"""Collections (issue 11, PRODUCT.md §8): reminder drafts, disputes and promises.

Plan, then apply: `plan.plan_run` computes, purely from the ledger state and the
configuration, which reminders are due today (`core.dunning` decides); `apply.apply_plan`
hands them to the configured draft store (`adapters.drafts`), journalling
`reminder.drafting` before and `reminder.drafted` after, in batched commits. A dry run
prints the plan and writes nothing; `remind.ReminderDrafts` is that plan as the shared
`ops.plan.carry_out` runs it, like every writing command.

Modules: `receivables` (the invoices as collections see them, from the ledger; the one
place a sheet source would replace), `plan`, `drafts` (a planned reminder as an email),
`apply`, `settle` (`--confirm` / `--retry` of an interrupted hand-over), `facts`
(`dispute`, `promise`), `history` (`reminders`), `metrics` (data/logs/reminders.csv),
`formal_notice` (the "mise en demeure" PDF of the last stage), `sheet_invoice` (what `show`
says of an invoice that lives in the collections sheet).

May import core, config, store, render, adapters and the shared ops modules (`report`,
`logs`, `plan`, `state`, `accounts`); never a sibling feature package.
"""
