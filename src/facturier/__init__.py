"""Facturier: invoicing, payments and collections from plain files."""
