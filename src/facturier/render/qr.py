"""EPC (SEPA credit transfer) QR code for the payment block, as a small PNG.

The bundled template does not decode it: Typst draws a blank slot image there (the same
for every invoice, so it is decoded once per compile), and `render.pdf.fill_qr_slot` puts the
invoice's own code into that image's stream afterwards (measured ~1 ms of Typst per
invoice: decoding the PNG, converting it to 8 bits and compressing it again). A template
override draws `qr_png` itself.
"""

from __future__ import annotations

import struct
import zlib
from decimal import Decimal
from typing import Any, Final

import zxingcpp

from facturier.core.errors import FacturierError

# EPC069-12 caps the amount of a SEPA QR transfer: a larger invoice is issued without a QR code.
EPC_MAX_AMOUNT = Decimal("999999999.99")


def wants_payment_qr(record: dict[str, Any]) -> bool:
    """True when the document is a EUR invoice to pay (within the EPC amount limit)
    and the seller has an IBAN and a BIC."""
    seller = record["seller"]
    return (
        record["kind"] == "invoice"
        and record["currency"] == "EUR"
        and bool(seller.get("iban"))
        and bool(seller.get("bic"))
        and 0 < Decimal(record["total_incl_vat"]) <= EPC_MAX_AMOUNT
    )


def epc_payload(name: str, iban: str, bic: str, amount: Decimal, text: str) -> str:
    """The EPC069-12 (version 002, UTF-8) payload of a SEPA credit transfer."""
    return "\n".join(["BCD", "002", "1", "SCT", bic, name, iban, f"EUR{amount:.2f}", "", "", text[:140]])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def epc_qr_png(name: str, iban: str, bic: str, amount: Decimal, text: str) -> bytes:
    """PNG of an EPC QR code (error correction level M, as EPC069-12 requires), quiet zone included.

    A PNG, not an SVG: Typst parses and converts the SVG of a QR code in ~0.6 ms per invoice
    and zxing-cpp writes it in 0.25 ms; the PNG costs a few microseconds each way. Four
    pixels per module scan as well as the SVG did once rasterized (zbarimg from 150 ppi up).
    """
    if not Decimal("0.01") <= amount <= EPC_MAX_AMOUNT:
        raise FacturierError(f"cannot build the payment QR code for {text}: amount {amount} out of range")
    payload = epc_payload(name, iban, bic, amount, text).encode("utf-8")  # bytes: no ECI header
    try:
        code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    except (ValueError, RuntimeError) as exc:
        # Config validation should have caught it; say which document could not carry it.
        raise FacturierError(f"cannot build the payment QR code for {text}: {exc}") from exc
    image = code.to_image(scale=1, add_quiet_zones=True)  # one grey byte per module
    modules, width = image.shape
    pixels = memoryview(image).tobytes()  # type: ignore[arg-type]  # zxingcpp's stubs miss its buffer protocol
    return png_modules(width, modules, pixels)


# Pixels per module side of the PNG: 4 scan from 150 ppi up once rasterized, and 4 pixels
# of a 1-bit image are one hex digit (`png_modules`).
MODULE_PIXELS = 4
# A module's grey byte (0 dark, 255 light) as the hex digit of its 4 pixels' bits.
_MODULE_HEX = bytes.maketrans(b"\x00\xff", b"0f")


def png_modules(width: int, height: int, modules: bytes) -> bytes:
    """A 1-bit grey PNG of a QR code's modules (one byte each, 0 dark, 255 light), 4 pixels a side.

    The same pixels as an 8-bit PNG of the scaled-up image, for a fraction of the work
    (measured 0.45 -> 0.06 ms): each module becomes one hex digit (its four pixels' bits),
    each scanline gets its filter byte ("00") and a dark pad to whole bytes (ignored by
    readers), `bytes.fromhex` packs it all in C, and each scanline is repeated four times.
    zlib level 1: on these long runs level 6 is 8x slower for 20 % fewer bytes of a PNG
    under 600 bytes.
    """
    pad = width % 2  # an odd number of hex digits leaves half a byte
    text = b"".join(b"\x00\x00" + modules[y * width:(y + 1) * width] + b"\x00" * pad for y in range(height))
    data = bytes.fromhex(text.translate(_MODULE_HEX).decode("ascii"))
    size = 1 + (width + pad) // 2  # bytes of a scanline, filter byte first
    raw = b"".join(data[i:i + size] * MODULE_PIXELS for i in range(0, len(data), size))
    header = struct.pack(">IIBBBBB", width * MODULE_PIXELS, height * MODULE_PIXELS, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(raw, 1))
            + _png_chunk(b"IEND", b""))


def payment_qr_for(record: dict[str, Any]) -> bytes | None:
    """The record's payment QR code as PNG bytes, or None when it should carry none."""
    if not wants_payment_qr(record):
        return None
    seller = record["seller"]
    return epc_qr_png(
        name=seller["name"][:70],  # EPC caps the beneficiary name at 70 characters
        iban=seller["iban"].replace(" ", ""),
        bic=seller["bic"].strip(),
        amount=Decimal(record["total_incl_vat"]),
        text=record["number"],
    )


# The blank image the bundled template draws where the QR code goes (templates/qr-slot.png,
# written by `png_modules` from 7 x 7 light modules): 28 pixels a side, a size no QR code
# has (the smallest, with its quiet zone, is 29 modules of 4 pixels).
QR_SLOT_FILE: Final = "qr-slot.png"
QR_SLOT_PIXELS: Final = 28


def png_bitmap(png: bytes) -> tuple[int, int, bytes]:
    """(width, height, zlib data) of a PNG written by `png_modules`: 1-bit grey, one IDAT."""
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    length = struct.unpack(">I", png[33:37])[0]
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR" or png[37:41] != b"IDAT" or (depth, colour) != (1, 0):
        raise FacturierError("internal error: the payment QR code is not the 1-bit PNG png_modules writes")
    return width, height, png[41:41 + length]

