"""Who receives how under the French reform: the routing rules, in order."""

from __future__ import annotations

from datetime import date

from facturier.core.einvoicing import Buyer, DirectoryEntry, route, tracking_id

FR_B2B = Buyer(seller_country="FR", country="FR", business=True, siren="443061841")
FOUND = DirectoryEntry(True, "Other PA", date(2027, 9, 15))


def test_each_rule_gives_its_channel_and_a_reason_to_act_on() -> None:
    cases = [
        (FR_B2B, True, FOUND, "platform", "receives e-invoices through Other PA (directory, 2027-09-15)"),
        (FR_B2B, False, FOUND, "none", "test document"),
        (Buyer("BE", "FR", True, "443061841"), True, None, "none", "seller established in BE"),
        (Buyer("FR", "FR", False, None), True, None, "ereporting", "sale to a consumer (B2C)"),
        (Buyer("FR", "DE", True, None), True, None, "ereporting", "client outside France (DE)"),
        (Buyer("FR", "FR", True, None), True, None, "held", "credit this one and invoice again"),
        (FR_B2B, True, DirectoryEntry(False, "", date(2027, 9, 15)), "held", "not in the platforms' directory"),
        (FR_B2B, True, None, "platform", "the directory was not asked yet"),
    ]
    for buyer, live, entry, channel, words in cases:
        decided = route(buyer, live, entry)
        assert (decided.channel, words in decided.reason) == (channel, True), (buyer, decided)


def test_directory_answers_expire() -> None:
    assert FOUND.fresh(date(2027, 10, 14)) and not FOUND.fresh(date(2027, 10, 15))
    absent = DirectoryEntry(False, "", date(2027, 9, 15))
    assert absent.fresh(date(2027, 9, 15)) and not absent.fresh(date(2027, 9, 16))


def test_tracking_ids_are_stable_per_seller_and_number() -> None:
    assert tracking_id("issuer", "2027-0001") == tracking_id("issuer", "2027-0001")
    assert tracking_id("issuer", "2027-0001") != tracking_id("bm", "2027-0001")
