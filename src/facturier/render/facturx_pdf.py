"""Make a PDF/A-3b a Factur-X PDF: embed factur-x.xml and merge the fx XMP schema.

Done with pikepdf on the PDF Typst wrote (or on each PDF split from a sheet), not with the
factur-x library, whose pypdf rewrite costs ~5x more and replaces the XMP wholesale. What
the Factur-X 1.0 specification and PDF/A-3 (ISO 19005-3, clause 6.8) ask for:

- an embedded file stream with its MIME type (`/Subtype /text#2Fxml`) and `/Params`
  (size, creation and modification dates, MD5 checksum);
- a file specification with `/F` and `/UF` (the file name), `/Desc`, `/EF`, and
  `/AFRelationship /Data` (the EN 16931 profile's XML is the invoice's data; Germany's
  ZUGFeRD allows /Alternative, France uses /Data);
- the file specification in the catalog's `/AF` array and in its `/Names /EmbeddedFiles`;
- in the XMP, the fx properties (DocumentType, DocumentFileName, Version,
  ConformanceLevel) and their PDF/A extension schema description, added to what the PDF
  already says: pdfaid, the other extension schemas and the Dublin Core stay as they are,
  and every rdf:Description keeps rdf:about="".

Dates are the document's (its issue date at 00:00 UTC), so the same record still gives
the same bytes.
"""

from __future__ import annotations

import hashlib
import zlib
from datetime import datetime
from typing import Final

import pikepdf
from lxml import etree

from facturier.core.errors import FacturierError
from facturier.render.facturx import FILENAME

FX_NAMESPACE: Final = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FX_VERSION: Final = "1.0"
FX_CONFORMANCE: Final = "EN 16931"
FX_PROPERTIES: Final = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)
RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PDFA_EXTENSION: Final = "http://www.aiim.org/pdfa/ns/extension/"
PDFA_SCHEMA: Final = "http://www.aiim.org/pdfa/ns/schema#"
PDFA_PROPERTY: Final = "http://www.aiim.org/pdfa/ns/property#"
_PARSER: Final = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True)


def pdf_date(when: datetime) -> pikepdf.String:
    """A PDF date string, e.g. D:20261115000000Z (UTC)."""
    return pikepdf.String(when.strftime("D:%Y%m%d%H%M%SZ"))


def _embedded_file(pdf: pikepdf.Pdf, xml: bytes, when: datetime) -> pikepdf.Stream:
    """The /EmbeddedFile stream of the XML, Flate-compressed, with its MIME type and /Params."""
    stream = pikepdf.Stream(pdf, b"")
    stream.Type = pikepdf.Name.EmbeddedFile
    stream.Subtype = pikepdf.Name("/text/xml")  # written /text#2Fxml
    _fill_embedded_file(stream, xml, when)
    return stream


def _fill_embedded_file(stream: pikepdf.Stream, xml: bytes, when: datetime) -> None:
    """The XML, Flate-compressed, and its /Params (size, dates, MD5 checksum) into the stream."""
    stream.write(zlib.compress(xml, 1), filter=pikepdf.Name.FlateDecode)
    stream.Params = pikepdf.Dictionary(
        Size=len(xml), CreationDate=pdf_date(when), ModDate=pdf_date(when),
        CheckSum=pikepdf.String(hashlib.md5(xml).digest()),
    )


def _attached_file(pdf: pikepdf.Pdf) -> pikepdf.Stream | None:
    """The factur-x.xml stream already attached to the PDF (an output the splitter reuses), if any."""
    af = pdf.Root.get("/AF")
    if not isinstance(af, pikepdf.Array) or len(af) != 1 or str(af[0].get("/F", "")) != FILENAME:
        return None
    stream = af[0].EF.F
    return stream if isinstance(stream, pikepdf.Stream) else None


def _filespec(pdf: pikepdf.Pdf, xml: bytes, when: datetime) -> pikepdf.Object:
    """The indirect file specification of factur-x.xml, related to the document as its /Data."""
    stream = pdf.make_indirect(_embedded_file(pdf, xml, when))
    name = pikepdf.String(FILENAME)
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Filespec, F=name, UF=name, Desc=pikepdf.String("Factur-X XML invoice"),
        AFRelationship=pikepdf.Name.Data, EF=pikepdf.Dictionary(F=stream, UF=stream),
    ))


def _el(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        child.text = text
    return child


def _resource_li(bag: etree._Element) -> etree._Element:
    """An rdf:li with rdf:parseType="Resource", as PDF/A extension schemas are written."""
    li = _el(bag, RDF, "li")
    li.set(f"{{{RDF}}}parseType", "Resource")
    return li


def _description(rdf: etree._Element, nsmap: dict[str, str]) -> etree._Element:
    """A new rdf:Description rdf:about="" at the end of rdf:RDF."""
    description = etree.SubElement(rdf, f"{{{RDF}}}Description", nsmap=nsmap)
    description.set(f"{{{RDF}}}about", "")
    return description


def _extension_bag(rdf: etree._Element) -> etree._Element:
    """The rdf:Bag of pdfaExtension:schemas, made in a description of its own when missing."""
    bag = rdf.find(f"{{{RDF}}}Description/{{{PDFA_EXTENSION}}}schemas/{{{RDF}}}Bag")
    if bag is None:
        description = _description(rdf, {"pdfaExtension": PDFA_EXTENSION, "pdfaSchema": PDFA_SCHEMA,
                                          "pdfaProperty": PDFA_PROPERTY})
        bag = _el(_el(description, PDFA_EXTENSION, "schemas"), RDF, "Bag")
    return bag


def _add_fx_schema(bag: etree._Element) -> None:
    """The fx schema's PDF/A extension description: namespace, prefix and its four properties."""
    schema = _resource_li(bag)
    _el(schema, PDFA_SCHEMA, "schema", "Factur-X PDFA Extension Schema")
    _el(schema, PDFA_SCHEMA, "namespaceURI", FX_NAMESPACE)
    _el(schema, PDFA_SCHEMA, "prefix", "fx")
    properties = _el(_el(schema, PDFA_SCHEMA, "property"), RDF, "Seq")
    for name, description in FX_PROPERTIES:
        prop = _resource_li(properties)
        _el(prop, PDFA_PROPERTY, "name", name)
        _el(prop, PDFA_PROPERTY, "valueType", "Text")
        _el(prop, PDFA_PROPERTY, "category", "external")
        _el(prop, PDFA_PROPERTY, "description", description)


def merge_fx_xmp(xmp: bytes) -> bytes:
    """The XMP packet with the Factur-X schema and properties added; unchanged if it has them."""
    try:
        tree = etree.fromstring(xmp, _PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise FacturierError(f"the PDF's XMP metadata is not XML ({exc}): cannot add Factur-X to it") from exc
    rdf = tree.getroot().find(f".//{{{RDF}}}RDF")
    if rdf is None:
        raise FacturierError("the PDF's XMP metadata has no rdf:RDF: cannot add Factur-X to it")
    if rdf.find(f"{{{RDF}}}Description/{{{FX_NAMESPACE}}}DocumentType") is not None:
        return xmp
    _add_fx_schema(_extension_bag(rdf))
    fx = _description(rdf, {"fx": FX_NAMESPACE})
    for name, value in (("DocumentType", "INVOICE"), ("DocumentFileName", FILENAME),
                        ("Version", FX_VERSION), ("ConformanceLevel", FX_CONFORMANCE)):
        _el(fx, FX_NAMESPACE, name, value)
    return bytes(etree.tostring(tree, encoding="utf-8", xml_declaration=False))


def embed_facturx(pdf: pikepdf.Pdf, xml: bytes, when: datetime, xmp: bool = True) -> None:
    """Attach factur-x.xml to an open PDF/A-3b and merge the fx XMP; the caller saves it.

    `xmp=False` leaves the XMP alone: the sheet splitter merges fx into the sheet's XMP
    once for all its documents (`merge_fx_xmp` on each would parse and rewrite it again).
    In the output the splitter reuses for the documents of a sheet, the attachment made for
    the first one takes each next one's XML and /Params (the same objects, none to make).
    """
    attached = _attached_file(pdf)
    if attached is not None:  # the previous document's, in the output the sheet splitter reuses
        _fill_embedded_file(attached, xml, when)
    else:
        filespec = _filespec(pdf, xml, when)
        pdf.Root.AF = pikepdf.Array([filespec])
        names = pdf.Root.get("/Names")
        if names is None:
            names = pdf.Root.Names = pikepdf.Dictionary()
        names.EmbeddedFiles = pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String(FILENAME), filespec]))
    if xmp:
        merged = merge_fx_xmp(pdf.Root.Metadata.read_bytes())
        pdf.Root.Metadata = pdf.make_stream(merged, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
