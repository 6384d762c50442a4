"""E-invoicing end to end (PRODUCT §13): the real CLI against a loopback accredited platform
(tests/pa_server.py) over real HTTP: routing, transmit once, statuses once, and the faults."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APP_MODULE, journal, run_cli
from tests.pa_server import ACME_SIREN, ENV, LoopbackPA

DAY = "2027-09-15"




def cli(ws: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(ws, *args, env={**ENV, **(env or {})})


def of_type(ws: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in journal(ws) if e["type"] == kind]

def transmitted_and_reminded(ws: Path) -> tuple[str, Callable[[], bool]]:
    """Reminders allowed all day, a run on DAY that transmits acme's invoice: its number, and
    whether a `remind --dry-run` on 2027-11-10 (the invoice overdue) would draft for it."""
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[collections]\nwindow = "00:00-24:00"\n', encoding="utf-8")
    assert cli(ws, "run", "--date", DAY).code == 0
    number = of_type(ws, "einvoice.transmitted")[0]["number"]

    def reminded() -> bool:
        result = cli(ws, "remind", "--date", "2027-11-10", "--dry-run")
        assert result.code == 0, result.text
        return any(line.startswith(number) and line.endswith("would draft") for line in result.out.splitlines())

    return number, reminded


def sent(pa: LoopbackPA) -> list[Any]:
    return pa.state.sent(syntax="Factur-X")


def test_run_transmits_a_domestic_b2b_invoice_once_as_its_factur_x_pdf(ews: Path, pa: LoopbackPA) -> None:
    result = cli(ews, "run", "--date", DAY)
    assert result.code == 0, result.text
    assert "# E-invoices (platform)" in result.text
    [flow] = sent(pa)
    [issued] = [e for e in of_type(ews, "invoice.issued") if e["client"] == "acme"]
    pdf = (ews / issued["files"]["pdf"]["path"]).read_bytes()
    assert flow.content == pdf and flow.name == f"{issued['number']}.pdf" and flow.rule == "B2B"
    [intent] = of_type(ews, "einvoice.transmitting")
    [done] = of_type(ews, "einvoice.transmitted")
    assert intent["seq"] < done["seq"]
    assert {k: done[k] for k in ("number", "flow_id", "tracking_id", "sha256")} == {
        "number": issued["number"], "flow_id": flow.flow_id, "tracking_id": flow.tracking_id,
        "sha256": hashlib.sha256(pdf).hexdigest()}
    # Northwind (GB) and the test invoice are not transmitted.
    assert {e["number"] for e in of_type(ews, "einvoice.transmitted")} == {issued["number"]}
    again = cli(ews, "transmit", "--date", DAY)
    assert again.code == 0 and "Nothing to transmit." in again.out
    preview = cli(ews, "transmit", "--date", DAY, "--dry-run")  # said, not an empty output
    assert preview.code == 0 and "Nothing to transmit." in preview.out
    assert len(sent(pa)) == 1
    assert cli(ews, "verify").code == 0


def test_the_pdf_email_is_a_courtesy_copy_unless_turned_off(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    assert [e["number"] for e in of_type(ews, "invoice.sent")] == [e["number"] for e in
                                                                     of_type(ews, "einvoice.transmitted")]
    other = ews.parent / "off"
    shutil.copytree(ews, other)
    shutil.rmtree(other / "data")
    path = other / "facturier.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[einvoicing]\n", "[einvoicing]\ncourtesy_email = false\n"), encoding="utf-8")
    result = cli(other, "run", "--date", DAY)
    assert result.code == 0, result.text
    assert of_type(other, "invoice.sent") == [] and len(of_type(other, "einvoice.transmitted")) == 1


def test_show_says_where_each_document_goes_and_why(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    numbers = {e["client"]: e["number"] for e in of_type(ews, "invoice.issued")}
    acme = cli(ews, "show", numbers["acme"])
    assert (f"E-invoicing: platform (domestic B2B: SIREN {ACME_SIREN} receives e-invoices through Other PA "
            f"(directory, {DAY}))") in acme.out
    assert f"Platform: transmitted as flow {sent(pa)[0].flow_id}" in acme.out
    north = cli(ews, "show", numbers["northwind"])
    assert "E-invoicing: ereporting (client outside France (GB): e-reported, not transmitted; e-report of " \
           "2027-09 (transactions) not sent yet, due by 2027-10-31)" in north.out
    data = json.loads(cli(ews, "show", numbers["sandbox"], "--json").out)
    assert data["einvoicing"]["channel"] == "none"
    [lookup] = of_type(ews, "einvoice.directory")
    assert lookup["siren"] == ACME_SIREN and lookup["receives"] is True and lookup["date"] == DAY


def test_mode_off_changes_nothing(ws: Path, pa: LoopbackPA) -> None:
    result = cli(ws, "run", "--date", DAY)
    assert result.code == 0 and "E-invoices" not in result.text
    assert not [e for e in journal(ws) if e["type"].startswith("einvoice.")]
    assert "einvoice" not in cli(ws, "invoices").out
    off = cli(ws, "transmit", "--date", DAY)
    assert off.code == 0 and 'E-invoicing is off ([einvoicing] mode = "off")' in off.out
    assert pa.state.requests == []


def test_a_client_not_in_the_directory_is_held_then_sent_once_it_is(ews: Path, pa: LoopbackPA) -> None:
    del pa.state.directory[ACME_SIREN]
    result = cli(ews, "run", "--date", DAY)
    assert result.code == 0, result.text
    assert f"is not transmitted: SIREN {ACME_SIREN} is not in the platforms' directory (asked {DAY})" in result.text
    assert sent(pa) == []
    month_later = cli(ews, "transmit", "--date", "2027-10-20")  # a month on: a row and a note, no warning
    assert month_later.code == 0 and "is not transmitted" not in month_later.text
    assert "1 document(s) older than 30 days are still held" in month_later.text
    pa.state.directory[ACME_SIREN] = "Other PA"
    same_day = cli(ews, "transmit", "--date", "2027-10-20")  # the answer of the day is kept
    assert same_day.code == 0 and sent(pa) == []
    later = cli(ews, "transmit", "--date", "2027-10-21")
    assert later.code == 0, later.text
    assert len(sent(pa)) == 1
    assert [e["receives"] for e in of_type(ews, "einvoice.directory")] == [False, False, True]


def test_missing_credentials_name_the_variable_and_send_nothing(ews: Path, pa: LoopbackPA) -> None:
    assert run_cli(ews, "run", "--date", DAY).code == 1  # issued, but the secret is not set here
    result = run_cli(ews, "transmit", "--date", DAY, env={"FACTURIER_PA_CLIENT_ID": "x"})
    assert result.code == 1
    assert ("facturier.toml: einvoicing.client_secret_env: the environment variable FACTURIER_PA_CLIENT_SECRET "
            "is not set: nothing was sent") in result.text
    assert "Nothing is lost: the documents not transmitted stay due" in result.text
    assert sent(pa) == [] and of_type(ews, "einvoice.transmitting") == []


@pytest.mark.parametrize(("fault", "message"), [
    ("down", "is unreachable (connection refused)"),
    ("500", "failed (500): injected 500"),
    ("401", "refused the client credentials (401)"),
    ("429", "is rate-limiting (429): it asks to wait 120 s more (Retry-After)"),
    ("token", "refused the access token (401)"),
])
def test_a_failing_platform_loses_nothing_and_the_next_run_sends_once(
        ews: Path, pa: LoopbackPA, fault: str, message: str) -> None:
    assert cli(ews, "run", "--date", "2027-09-14").code == 0  # nothing issued yet: no call
    env = {}
    if fault == "down":
        pa.stop()
    elif fault == "500":
        pa.fail_next(500)
    elif fault == "429":
        pa.fail_next(429, retry_after="120")
    elif fault == "token":  # the API refuses the token, and the fresh one fetched after it
        pa.fail_next(401, count=2)
    else:
        env = {"FACTURIER_PA_CLIENT_SECRET": "not-the-secret"}
    result = cli(ews, "run", "--date", DAY, env=env)
    assert result.code == 1
    assert message in result.text and "Nothing is lost: the documents not transmitted stay due" in result.text
    assert "not-the-secret" not in result.text
    assert of_type(ews, "einvoice.transmitted") == [] and sent(pa) == []
    if fault == "down":
        pa.start()
    retry = cli(ews, "transmit", "--date", DAY)
    assert retry.code == 0, retry.text
    assert len(sent(pa)) == 1 and len(of_type(ews, "einvoice.transmitted")) == 1


def test_a_429_waits_its_retry_after_then_sends_once(ews: Path, pa: LoopbackPA) -> None:
    pa.fail_next(429, retry_after="1", count=2)
    result = cli(ews, "run", "--date", DAY)
    assert result.code == 0, result.text
    assert len(sent(pa)) == 1 and len(of_type(ews, "einvoice.transmitted")) == 1


def test_an_expired_token_is_renewed_once(ews: Path, pa: LoopbackPA) -> None:
    pa.fail_next(401)
    result = cli(ews, "run", "--date", DAY)
    assert result.code == 0, result.text
    assert len(sent(pa)) == 1
    assert [p for _, p in pa.state.requests].count("/oauth2/token") == 2


def test_a_flow_refused_after_its_intent_is_searched_for_then_sent_once(ews: Path, pa: LoopbackPA) -> None:
    """The other side of the crash window: journalled as transmitting, never reached the platform."""
    pa.fail_next(503, count=1, path="/afnor-flow/v1/flows")
    result = cli(ews, "run", "--date", DAY)
    assert result.code == 1 and "failed (503)" in result.text
    assert len(of_type(ews, "einvoice.transmitting")) == 1 and sent(pa) == []
    retry = cli(ews, "transmit", "--date", DAY)
    assert retry.code == 0, retry.text
    assert ("POST", "/afnor-flow/v1/flows/search") in pa.state.requests  # searched before the resend
    assert len(sent(pa)) == 1 and len(of_type(ews, "einvoice.transmitting")) == 1


def test_kill_9_between_the_send_and_the_journal_leaves_exactly_one_flow(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY, env={"FACTURIER_PA_CLIENT_SECRET": "wrong"}).code == 1  # issued only
    proc = subprocess.Popen([sys.executable, "-m", APP_MODULE, "--workspace", str(ews), "transmit", "--date", DAY],
                            env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pa.state.on_submit = lambda flow: os.kill(proc.pid, signal.SIGKILL)  # the flow is stored, no answer
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    pa.state.on_submit = None
    assert len(sent(pa)) == 1
    assert len(of_type(ews, "einvoice.transmitting")) == 1 and of_type(ews, "einvoice.transmitted") == []
    show = cli(ews, "invoices")
    assert "sending" in show.out
    resumed = cli(ews, "transmit", "--date", DAY)
    assert resumed.code == 0, resumed.text
    assert "found on the platform (sent before an interruption; not sent again)" in resumed.text
    [flow] = sent(pa)
    [done] = of_type(ews, "einvoice.transmitted")
    assert done["flow_id"] == flow.flow_id and done["tracking_id"] == flow.tracking_id
    assert cli(ews, "transmit", "--date", DAY).code == 0 and len(sent(pa)) == 1
    assert cli(ews, "verify").code == 0


def test_statuses_are_journalled_once_and_a_rejection_is_a_blocking_alert(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    pa.emit_status(number, "200")
    pa.emit_status(number, "213", reason="Numéro de TVA du client invalide")
    result = cli(ews, "statuses", "--date", "2027-09-20")
    assert result.code == 1
    assert (f"ERROR: {number} was Rejetée (213): Numéro de TVA du client invalide. Correct it with a credit note "
            f"(`facturier credit {number}`)") in result.text
    statuses = of_type(ews, "einvoice.status")
    assert [(s["number"], s["code"], s["label"]) for s in statuses] == [
        (number, "200", "Déposée"), (number, "213", "Rejetée")]
    assert all(s["status_at"] and s["flow_id"].startswith("cdar-") for s in statuses)
    again = cli(ews, "statuses", "--date", "2027-09-20")
    assert again.code == 0 and "No new status." in again.out
    assert len(of_type(ews, "einvoice.status")) == 2
    assert "213 Rejetée" in cli(ews, "invoices").out
    show = cli(ews, "show", number)
    assert "Lifecycle status: 213 Rejetée at" in show.out and "Numéro de TVA du client invalide" in show.out
    assert cli(ews, "verify").code == 0


def test_a_refusal_names_the_invoice(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    pa.emit_status(number, "210", reason="Commande inconnue")
    result = cli(ews, "statuses")
    assert result.code == 1 and f"{number} was Refusée (210): Commande inconnue" in result.text


def test_a_malformed_cdar_is_a_clear_error_and_nothing_is_journalled(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    before = len(journal(ews))
    flow = pa.emit_status("x", "200", content=b"<?xml version='1.0'?><Invoice>not a CDAR</Invoice>")
    result = cli(ews, "statuses")
    assert result.code == 1
    assert f"lifecycle flow {flow.flow_id} (of {flow.updated_at}): not a valid CDAR message" in result.text
    assert "nothing journalled for it nor for the statuses after it" in result.text
    assert "Traceback" not in result.text
    assert len(journal(ews)) == before
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    pa.state.clock = dt.datetime(2027, 9, 3, 9, 0)
    pa.emit_status(number, "200")  # after the broken one: not journalled while it stands
    again = cli(ews, "statuses")
    assert again.code == 1 and f"lifecycle flow {flow.flow_id}" in again.text and len(journal(ews)) == before
    skip = cli(ews, "statuses", "--since", "2027-09-02")  # the broken one was set on 2027-09-01
    assert skip.code == 0, skip.text
    assert [e["code"] for e in of_type(ews, "einvoice.status")] == ["200"]


def test_a_status_of_a_document_never_transmitted_is_a_warning_and_the_later_ones_are_read(
        ews: Path, pa: LoopbackPA) -> None:
    """An invoice sent through the platform's portal must not hold back the statuses after it:
    a rejection (213) among them would go unseen."""
    assert cli(ews, "run", "--date", DAY).code == 0
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    unknown = pa.emit_status("2099-0001", "200")
    pa.emit_status(number, "213", reason="Adresse invalide")
    result = cli(ews, "statuses")
    assert f"WARNING: facturier.toml: lifecycle flow {unknown.flow_id} (of {unknown.updated_at}) is about " \
           "'2099-0001', which Facturier never transmitted for this seller" in result.text
    assert f"ERROR: {number} was Rejetée (213): Adresse invalide" in result.text
    assert [(e["number"], e["code"]) for e in of_type(ews, "einvoice.status")] == [(number, "213")]
    assert cli(ews, "statuses").code == 0 and len(of_type(ews, "einvoice.status")) == 1


def test_in_dispute_on_the_platform_stops_reminders_until_a_later_status(ews: Path, pa: LoopbackPA) -> None:
    number, reminded = transmitted_and_reminded(ews)

    assert reminded()
    pa.emit_status(number, "207", reason="Quantités contestées")
    disputed = cli(ews, "statuses")
    assert disputed.code == 0 and "is in dispute on the platform (207): no reminders" in disputed.text
    assert not reminded()
    pa.emit_status(number, "205")
    assert cli(ews, "statuses").code == 0
    assert reminded()


SCHEMATRON = """
import sys, importlib.resources as r
from lxml import etree
from saxonche import PySaxonProcessor
proc = PySaxonProcessor(license=False)
xslt = str(r.files("pyfrctc").joinpath("cdar-schematron/BR-FR-CDV-Schematron-CDAR.xslt"))
run = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=xslt)
for path in sys.argv[1:]:
    svrl = etree.fromstring(run.transform_to_string(xdm_node=proc.parse_xml(xml_file_name=path)).encode())
    failed = svrl.findall(".//{http://purl.oclc.org/dsdl/svrl}failed-assert")
    print(path, len(failed), " | ".join(" ".join(f.itertext()).split()[0:30][0] for f in failed))
"""


def test_every_cdar_the_platform_emits_passes_the_xsd_and_schematron(tmp_path: Path, pa: LoopbackPA) -> None:
    """saxonche aborts in a forked or threaded process: the schematron runs in a fresh interpreter."""
    import pyfrctc

    paths = []
    for code in ("200", "207", "210", "212", "213"):
        flow = pa.emit_status("2027-0001", code, reason=None if code in ("200", "212") else "motif")
        pyfrctc.check_cdar_xsd(flow.content)
        paths.append(tmp_path / f"{code}.xml")
        paths[-1].write_bytes(flow.content)
    bad = tmp_path / "bad.xml"
    bad.write_bytes(paths[0].read_bytes().replace(b">200<", b">999<"))
    out = subprocess.run([sys.executable, "-c", SCHEMATRON, *map(str, paths), str(bad)], capture_output=True,
                         text=True, timeout=300, check=True).stdout.splitlines()
    counts = {Path(line.split()[0]).stem: int(line.split()[1]) for line in out}
    assert counts == {"200": 0, "207": 0, "210": 0, "212": 0, "213": 0, "bad": counts["bad"]}
    assert counts["bad"] > 0  # the check can fail


def test_a_batch_seller_transmits_through_its_own_account(tmp_path: Path, pa: LoopbackPA) -> None:
    from tests.conftest import copy_demo

    ws = copy_demo(tmp_path / "bws", with_inbox=True)
    seller = ws / "batch_clients" / "boulangerie-martin.toml"
    seller.write_text(seller.read_text(encoding="utf-8") + pa.config(since="2026-11-01"), encoding="utf-8")
    inbox = next((ws / "data" / "inbox_batch").rglob("*.csv"))
    lines = inbox.read_text(encoding="utf-8").splitlines()
    lines[0] += ",customer_siren"
    lines[1] += f",{ACME_SIREN}"
    lines[2:] = [line + "," for line in lines[2:]] if not lines[2].endswith('"') else lines[2:]
    inbox.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(ws, "batch", "--date", "2026-11-30")
    assert result.code == 0, result.text
    [flow] = sent(pa)
    [done] = of_type(ws, "einvoice.transmitted")
    assert done["seller"] == "boulangerie-martin" and flow.flow_id == done["flow_id"]
    assert "\ttransmitted\t" in result.out and "Café du Parc" in result.out
    # The rows without a SIREN or VAT number are sales to consumers: e-reported, not transmitted.
    other = next(e["number"] for e in of_type(ws, "invoice.issued") if e["number"] != done["number"])
    assert "E-invoicing: ereporting (sale to a consumer (B2C)" in cli(ws, "show", other).out


def test_statuses_of_one_instant_across_a_page_end_are_all_journalled(ews: Path, pa: LoopbackPA) -> None:
    """The platform pages by 100: the statuses of the page's last instant that go on past its end
    were passed over when the next page started strictly after that instant."""
    assert cli(ews, "run", "--date", DAY).code == 0
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    flows = [pa.emit_status(number, "200") for _ in range(103)]
    for flow in flows[98:]:  # five at one instant: two on the first page, three after it
        flow.updated_at = flows[98].updated_at
    result = cli(ews, "statuses")
    assert result.code == 0, result.text
    assert sorted(e["flow_id"] for e in of_type(ews, "einvoice.status")) == sorted(f.flow_id for f in flows)
    for flow in flows:  # a full page of one instant cannot be paged through: an error, nothing skipped
        flow.updated_at = "2027-09-01T09:00:00.000Z"
    flows += [pa.emit_status(number, "205") for _ in range(2)]
    for flow in flows:
        flow.updated_at = "2027-09-01T09:00:00.000Z"
    stuck = cli(ews, "statuses", "--since", "2027-09-01")
    assert stuck.code == 1 and "more than 100 lifecycle flows carry the same time" in stuck.text


def test_an_unknown_host_and_an_untrusted_certificate_say_so(ews: Path, pa: LoopbackPA, tmp_path: Path) -> None:
    """Not "no connection": a typo in the host name and a certificate not trusted are fixed differently."""
    import ssl
    import threading
    from http.server import ThreadingHTTPServer

    from tests.pa_server import Handler

    path = ews / "facturier.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(pa.url, "https://pa.invalid"), encoding="utf-8")
    unknown = cli(ews, "run", "--date", DAY)
    assert unknown.code == 1 and "https://pa.invalid/oauth2/token is unreachable (its host name cannot be " \
                                  "resolved: check the URL for a typo" in unknown.text
    if shutil.which("openssl") is None:
        pytest.skip("openssl makes the self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tls = f"https://127.0.0.1:{server.server_address[1]}"
        path.write_text(text.replace(pa.url, tls), encoding="utf-8")
        untrusted = cli(ews, "transmit", "--date", DAY)
    finally:
        server.shutdown()
        server.server_close()
    assert untrusted.code == 1 and f"{tls}/oauth2/token is unreachable (TLS failed: its certificate is not " \
                                   "trusted here" in untrusted.text
    assert of_type(ews, "einvoice.transmitted") == []


def test_a_212_sent_for_a_partial_payment_does_not_end_a_dispute(ews: Path, pa: LoopbackPA) -> None:
    """The client pays the part it does not dispute: the 212 Facturier sends for it is not the
    platform ending the dispute, so the reminders of the rest stay stopped."""
    number, reminded = transmitted_and_reminded(ews)

    pa.emit_status(number, "207", reason="Quantités contestées")
    assert cli(ews, "statuses").code == 0
    assert cli(ews, "pay", "acme", "300", "--date", "2027-09-25").code == 0
    assert cli(ews, "transmit", "--date", "2027-09-25").code == 0
    assert [e["code"] for e in of_type(ews, "einvoice.status")] == ["207", "212"]
    assert not reminded()
    assert "Lifecycle status: 207 En litige" in cli(ews, "show", number).out
    pa.emit_status(number, "205")
    assert cli(ews, "statuses").code == 0
    assert reminded()


def test_show_says_a_document_before_since_is_not_transmitted_not_platform(ws: Path, pa: LoopbackPA) -> None:
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(since="2027-09-01"), encoding="utf-8")
    assert cli(ws, "run", "--date", "2027-08-15").code == 0
    number = next(e["number"] for e in of_type(ws, "invoice.issued") if e["client"] == "acme")
    shown = cli(ws, "show", number)
    assert "E-invoicing: none (dated before 2027-09-01 (einvoicing.since): issued by email, never transmitted " \
           "nor e-reported; from that day it would go: platform, " in shown.out
    assert sent(pa) == []


def test_sellers_sharing_one_platform_account_each_journal_their_own_statuses(
        tmp_path: Path, pa: LoopbackPA) -> None:
    """The issuer and a batch seller on one platform account: a status is the seller's whose SIREN
    the message names, even when both have an invoice of that number."""
    from tests.conftest import copy_demo

    ws = copy_demo(tmp_path / "sws", with_inbox=True)
    for path in (ws / "facturier.toml", ws / "batch_clients" / "boulangerie-martin.toml"):
        path.write_text(path.read_text(encoding="utf-8") + pa.config(since="2026-11-01"), encoding="utf-8")
    inbox = next((ws / "data" / "inbox_batch").rglob("*.csv"))
    lines = inbox.read_text(encoding="utf-8").splitlines()
    lines[0] += ",customer_siren"
    lines[1] += f",{ACME_SIREN}"
    lines[2:] = [line + "," for line in lines[2:]]
    inbox.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(ws, "run", "--date", "2026-11-15").code == 0
    assert cli(ws, "batch", "--date", "2026-11-30").code == 0
    mine = {e["seller"]: e["number"] for e in of_type(ws, "einvoice.transmitted")}
    assert set(mine) == {"issuer", "boulangerie-martin"}
    pa.emit_status(mine["boulangerie-martin"], "200", seller_siren="823456785")
    pa.emit_status(mine["issuer"], "213", reason="Adresse", seller_siren="823456785")  # the bakery's, same number
    pa.emit_status(mine["issuer"], "200")  # the issuer's own (SIREN 732829320)
    result = cli(ws, "statuses")
    assert "was Rejetée" not in result.text, result.text
    assert sorted((e["seller"], e["number"], e["code"]) for e in of_type(ws, "einvoice.status")) == sorted([
        ("boulangerie-martin", mine["boulangerie-martin"], "200"), ("issuer", mine["issuer"], "200")])
    assert f"is about {mine['issuer']!r}, which Facturier never transmitted for this seller" in result.text
