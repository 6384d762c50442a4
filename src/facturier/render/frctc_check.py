"""Offline schematron checks of the French reform's files, with the XSLTs pyfrctc ships: the
CDAR lifecycle rules (BR-FR-CDV) and the e-reporting Flux 10 rules (Annexe 7).

pyfrctc's own `check_*_schematron` posts the file to a Saxon server on localhost and, when
none answers, logs a warning and checks nothing: here saxonche runs the XSLT in this process
(one processor and compiled stylesheet per process). saxonche aborts in a forked or threaded
process, so the tests run this in a fresh interpreter.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from typing import Any, Final

from lxml import etree

from facturier.core.errors import FacturierError

STYLESHEETS: Final = {"cdar": "cdar-schematron/BR-FR-CDV-Schematron-CDAR.xslt", "flux10": "frr-schematron/Flux10.xslt"}
SVRL: Final = "{http://purl.oclc.org/dsdl/svrl}"


@lru_cache(maxsize=2)
def _compiled(kind: str) -> tuple[Any, Any]:
    try:
        from saxonche import PySaxonProcessor
    except ImportError:
        raise FacturierError("the schematron check needs the Python package 'saxonche'") from None
    path = importlib.resources.files("pyfrctc").joinpath(STYLESHEETS[kind])
    proc = PySaxonProcessor(license=False)
    return proc, proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


def schematron_failures(xml: bytes, kind: str) -> list[str]:
    """Each failed rule of the file as `rule: message` ([] when it passes); kind "cdar" or "flux10"."""
    proc, stylesheet = _compiled(kind)
    node = proc.parse_xml(xml_text=xml.decode("utf-8"))
    report = etree.fromstring((stylesheet.transform_to_string(xdm_node=node) or "").encode("utf-8"))
    failures = []
    for failed in [*report.iter(f"{SVRL}failed-assert"), *report.iter(f"{SVRL}successful-report")]:
        text = " ".join(" ".join(failed.itertext()).split())
        failures.append(f"{failed.get('id') or failed.get('location') or '?'}: {text}")
    return failures
