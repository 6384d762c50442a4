"""E-invoicing through an accredited platform (PRODUCT §13, issue 25).

`accounts` (which sellers transmit, their platform clients), `routing` (who receives how:
the directory, cached in the state through `einvoice.directory` entries), `transmit`
(documents due, sent once as their Factur-X flow), `statuses` (the platform's CDAR
lifecycle statuses, journalled once each). The platform calls are `adapters/pa.py`; CDAR
files are read with pyfrctc.
"""
