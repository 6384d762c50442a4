"""Use cases: each composes core, config, store, render and adapters into one command.

Layout (docs/architecture.md):
- shared by every feature: `report` (what a command did), `logs`, `plan` (plan, then apply:
  the `Plan` protocol and `carry_out`, how every writing command and its dry run run),
  `issuing` (the issuing pipeline: number, render, commit, log), `documents` (turning a
  document into a commit), `state` (series and numbers), `views` (derived views);
- features, one package each: `invoicing`, `batch`, `delivery`, `payments`, `reports`. A
  feature may import core, config, store, render, adapters and the shared modules above,
  never a sibling feature;
- compositions of features for one command: `cycle` (issue, then send), `verify` with
  `einvoice` (the offline Factur-X validation of `verify --einvoice`, and `show --xml`),
  and `printable` (what `check` makes sure every document can print).
"""
