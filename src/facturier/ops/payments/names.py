"""Client names as bank statements write them: folded, and with or without their legal form.

A transfer from "Meter Analytics Ltd" reads "VIR METER ANALYTICS": banks drop the legal form
(Ltd, SAS, SARL, GmbH, Inc, LLC, SA, BV, ...), the accents and the case. A client's name is
looked for in a statement line in two forms, whole words only: as written, and without its
legal form. The legal forms are cleanco's list of company types (suffixes, as most countries
place them), less the few of its terms that are also ordinary words ("Company", "Private",
"UK", "VAT": "Acme UK" and "Acme France" are two clients, not one); French forms are also
taken off the front ("SARL Dupont"), where French usage often puts them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from cleanco import basename, prepare_default_terms  # type: ignore[import-untyped]

# cleanco terms that are also ordinary words of a name, kept in the name.
_ORDINARY_WORDS = frozenset({"co", "company", "and company", "& co", "& company", "private", "uk", "vat",
                             "unlimited"})
# Legal forms French usage writes before the name.
_LEADING_FORMS = frozenset({"sarl", "sas", "sasu", "sa", "eurl", "ei", "eirl", "snc", "sci", "scop"})


@cache
def _terms() -> tuple[list[tuple[int, list[str]]], list[tuple[int, list[str]]]]:
    """(terms taken off the end, terms taken off the front), in cleanco's prepared form."""
    terms = [term for term in prepare_default_terms() if " ".join(term[1]) not in _ORDINARY_WORDS]
    return terms, [term for term in terms if " ".join(term[1]) in _LEADING_FORMS]


def fold(text: str) -> str:
    """Text as compared: compatibility-normalized, without accents, case-folded, one space
    between words ("Lumière" is "LUMIERE" in a SEPA remittance)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


@cache
def name_forms(name: str) -> tuple[str, ...]:
    """The folded forms a statement may write a client's name in, longest first: the name,
    and the name without its legal form when something distinctive is left."""
    suffixes, prefixes = _terms()
    full = fold(name)
    bare = fold(basename(basename(name, terms=suffixes), terms=prefixes, prefix=True, suffix=False))
    return (full, bare) if bare and bare != full else (full,) if full else ()


def contains_words(haystack: str, words: str) -> bool:
    """Whether `words` appear whole in `haystack` (a client "AB" is not in "abonnement")."""
    # The substring test first: a statement of 1,000 lines against 1,000 clients is a million
    # tests, nearly all false, and a regex per client would not stay in re's cache.
    return bool(words) and words in haystack and _whole(words).search(haystack) is not None


@cache
def _whole(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(words)}(?!\w)")


def name_found(haystack: str, name: str) -> str | None:
    """The longest form of `name` found whole in the folded `haystack`, or None."""
    return next((form for form in name_forms(name) if contains_words(haystack, form)), None)


def named_clients(text: str, names: dict[str, str]) -> list[str]:
    """The clients (id -> name) a statement line names, the most specific only: when the form
    found for one ("meter analytics") is part of the form found for another ("meter analytics
    consulting"), the line names the latter."""
    haystack = fold(text)
    found = {client: form for client, name in names.items() if (form := name_found(haystack, name))}
    return [client for client, form in found.items()
            if not any(len(other) > len(form) and contains_words(other, form) for other in found.values())]
