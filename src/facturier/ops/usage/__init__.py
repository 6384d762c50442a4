"""Usage records (`usage record`, `usage import`, `usage list`), one-off `charge`s, and the
monthly usage views. May import core, config, store and the shared ops modules; never a
sibling feature (how usage is billed is composed by `ops/invoicing/compose.py`).
"""
