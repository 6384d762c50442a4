"""E-invoicing through an accredited platform (PRODUCT §13, issue 25).

`accounts` (which sellers transmit, their platform clients), `routing` (who receives how:
the directory, cached in the state through `einvoice.directory` entries), `transmit`
(documents due, sent once as their Factur-X flow), `statuses` (the platform's CDAR
lifecycle statuses, journalled once each), `paid` and `cdar` (212 Encaissée per payment),
`flux10` and `ereport` (the e-reporting files of each period), `summary` (what `show`
says). The platform calls are `adapters/pa.py`; CDAR and Flux 10 files are built and read
with pyfrctc, their schematrons run by `render/frctc_check.py`.
"""
