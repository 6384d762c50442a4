"""Pricing blocks of a client file: metered lines' tiers, discounts, dates, and their checks.

Field shapes are checked by the models (each value on its own key); the rules that span a
block (a metered line needs tiers or a unit price, tiers ascend with an open last tier, a
discount names a line the client has) are checked by `pricing_problems`, which lists every
problem of every block at once, each on the key to fix:
`clients/acme.toml: lines[1].tiers[2].up_to: must be greater than the previous tier's up_to (1000)`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainValidator

from facturier.config.fields import Money, Quantity, StrictModel, check_iso_date
from facturier.core.schedule import day_in_range, month_end

# core.pricing and core.usage (and core.invoice under them) are imported by the validators and
# conversions that use them: a configuration read back from its cache runs no validator, and a
# command like `pay` then never imports them (issue 23, start-up).
if TYPE_CHECKING:
    from facturier.config.clients import ClientConfig, LineConfig
    from facturier.core.pricing import Discount, Pricing


def parse_day(value: Any) -> date:
    """A TOML date (2026-11-01) or the same as a string ("2026-11-01"); no date-times."""
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a date-time; write a date like 2026-11-01")
    if isinstance(value, date):
        return day_in_range(value)
    if isinstance(value, str):
        return check_iso_date(value)
    raise ValueError(f"expected a date like 2026-11-01, got {value!r}")


Day = Annotated[date, PlainValidator(parse_day)]


def check_not_negative(value: Decimal) -> Decimal:
    """Prices, fees and minimums are zero or more."""
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def check_unit_price_decimals(value: Decimal) -> Decimal:
    """A unit price keeps at most 6 decimals (a fraction of a cent per unit, never rounded)."""
    from facturier.core.pricing import UNIT_PRICE_DECIMALS

    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > UNIT_PRICE_DECIMALS and value != value.quantize(
            Decimal(1).scaleb(-UNIT_PRICE_DECIMALS)):
        raise ValueError(f"{value} has more than {UNIT_PRICE_DECIMALS} decimals")
    return check_not_negative(value)


def check_quantity_decimals(value: Decimal) -> Decimal:
    """Tier bounds and free units: zero or more, at most 4 decimals (usage's own precision)."""
    from facturier.core.usage import QUANTITY_DECIMALS

    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    if value != value.quantize(Decimal(1).scaleb(-QUANTITY_DECIMALS)):
        raise ValueError(f"{value} has more than {QUANTITY_DECIMALS} decimals")
    return value


def check_metric(name: str) -> str:
    """A metric name: lowercase letters, digits, _ . - (as usage files write it)."""
    from facturier.core.usage import METRIC_NAME

    if not METRIC_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a metric name: use lowercase letters, digits, _ . - "
                         "(starting with a letter, at most 64 characters), e.g. \"api_calls\"")
    return name


UnitPrice = Annotated[Money, AfterValidator(check_unit_price_decimals)]
Amount = Annotated[Money, AfterValidator(check_not_negative)]
Units = Annotated[Quantity, AfterValidator(check_quantity_decimals)]
MetricName = Annotated[str, AfterValidator(check_metric)]
Aggregation = Literal["sum", "count", "max", "unique", "latest"]
PricingName = Literal["per_unit", "graduated", "volume", "package"]


class TierConfig(StrictModel):
    """One tier of a graduated or volume line (`[[lines.tiers]]`)."""

    up_to: Units | None = None  # inclusive; omitted on the last tier
    unit_price: UnitPrice
    flat_fee: Amount = Decimal(0)


class DiscountConfig(StrictModel):
    """A discount (`[[discounts]]`): percent or amount, on the invoice or on one line."""

    percent: Quantity | None = None
    amount: Amount | None = None
    line: str | None = None  # a line's metric or description; none: the whole invoice
    from_: Day | None = Field(default=None, alias="from")
    until: Day | None = None
    months: Annotated[int, Field(ge=1, le=1200)] | None = None

    def to_core(self) -> Discount:
        from facturier.core.pricing import Discount

        return Discount(self.percent, self.amount, self.line)


def pricing_of(line: LineConfig) -> Pricing:
    """The core pricing of a metered line (checked: see `pricing_problems`)."""
    from facturier.core.pricing import Pricing, Tier

    tiers = tuple(Tier(t.up_to, t.unit_price, t.flat_fee) for t in line.tiers)
    return Pricing(line.pricing or "per_unit", line.unit_price, tiers, line.included, line.package_size,
                   line.minimum)


# -- checks across keys ---------------------------------------------------------------------


def pricing_problems(client: ClientConfig) -> list[tuple[str, str]]:
    """Every problem of a client's pricing blocks, as (key path, message), in file order."""
    found: list[tuple[str, str]] = []
    for index, line in enumerate(client.lines):
        found += [(f"lines[{index}]{key}", message) for key, message in _line_problems(line)]
    found += _overlap_problems(client)
    known = {l.metric for l in client.lines if l.metric} | {l.description for l in client.lines}
    for index, discount in enumerate(client.discounts):
        found += [(f"discounts[{index}]{key}", message) for key, message in _discount_problems(discount, known, client)]
    if client.start_date and client.end_date and client.end_date < client.start_date:
        found.append(("end_date", f"{client.end_date} is before start_date {client.start_date}"))
    return found


def _line_problems(line: LineConfig) -> list[tuple[str, str]]:
    found = _dates_problems(line.from_, line.until, metered=line.metric is not None)
    if line.metric is None:
        if line.unit_price is None:
            found.append((".unit_price", "missing required key (a line without metric bills quantity x unit_price)"))
        for key in ("aggregation", "pricing", "tiers", "included", "package_size", "minimum"):
            if key in line.model_fields_set:
                found.append((f".{key}", "only a metered line (with metric = \"...\") takes this key"))
        return found
    if "quantity" in line.model_fields_set:
        found.append((".quantity", "a metered line bills its metric's usage; remove quantity"))
    model = line.pricing or "per_unit"
    wants_price = model in ("per_unit", "package")
    if wants_price and line.unit_price is None:
        found.append((".unit_price", f'missing required key (pricing = "{model}")'))
    if not wants_price and line.unit_price is not None:
        found.append((".unit_price", f'pricing = "{model}" takes its prices from [[lines.tiers]]; remove unit_price'))
    if model == "package" and line.package_size is None:
        found.append((".package_size", 'missing required key (pricing = "package")'))
    if model != "package" and line.package_size is not None:
        found.append((".package_size", 'only pricing = "package" takes package_size'))
    if model in ("graduated", "volume"):
        found += _tier_problems(line)
    elif line.tiers:
        found.append((".tiers", f'pricing = "{model}" takes no tiers; use "graduated" or "volume"'))
    return found


def _tier_problems(line: LineConfig) -> list[tuple[str, str]]:
    if not line.tiers:
        return [(".tiers", f'pricing = "{line.pricing}" needs at least one [[lines.tiers]]')]
    found, previous = [], Decimal(0)
    last = len(line.tiers) - 1
    for index, tier in enumerate(line.tiers):
        key = f".tiers[{index}].up_to"
        if tier.up_to is None:
            if index != last:
                found.append((key, "only the last tier may omit up_to (tiers must follow each other, no gap)"))
            continue
        if index == last:
            found.append((key, (f"the last tier must be open: remove up_to ({tier.up_to}) so usage above "
                                "the previous tier is billed")))
        if tier.up_to <= previous:
            what = f"the previous tier's up_to ({previous})" if index else "0"
            found.append((key, f"must be greater than {what}: tiers ascend"))
        previous = max(previous, tier.up_to)
    return found


def _dates_problems(start: date | None, until: date | None, metered: bool) -> list[tuple[str, str]]:
    found = []
    if start and until and until < start:
        found.append((".until", f"{until} is before from ({start})"))
    if metered and start and start.day != 1:
        found.append((".from", f"{start} is not the first of a month: a metered line bills whole months"))
    if metered and until and until != month_end(until):
        found.append((".until", f"{until} is not the last day of a month: a metered line bills whole months"))
    return found


def _overlap_problems(client: ClientConfig) -> list[tuple[str, str]]:
    """Two lines billing the same metric at the same time would bill its usage twice."""
    found = []
    far_past, far_future = date.min, date.max
    for i, line in enumerate(client.lines):
        if line.metric is None:
            continue
        for j in range(i):
            other = client.lines[j]
            if other.metric != line.metric:
                continue
            if ((line.from_ or far_past) <= (other.until or far_future)
                    and (other.from_ or far_past) <= (line.until or far_future)):
                found.append((f"lines[{i}].metric", (f"{line.metric!r} is also billed by lines[{j}] over the same "
                                                     "dates: give them from/until dates that do not overlap")))
    return found


def _discount_problems(discount: DiscountConfig, known: set[str], client: ClientConfig) -> list[tuple[str, str]]:
    found = _dates_problems(discount.from_, discount.until, metered=False)
    if (discount.percent is None) == (discount.amount is None):
        found.append(("", "write exactly one of percent or amount"))
    if discount.percent is not None and not Decimal(0) < discount.percent <= Decimal(100):
        found.append((".percent", f"must be more than 0 and at most 100, got {discount.percent}"))
    if discount.amount is not None and discount.amount <= 0:
        found.append((".amount", f"must be greater than 0, got {discount.amount}"))
    if discount.line is not None and discount.line not in known:
        names = ", ".join(sorted(repr(k) for k in known)) or "none"
        found.append((".line", (f"{discount.line!r} is not a metric or description of this client's lines "
                                f"(known: {names})")))
    if discount.months is not None and discount.until is not None:
        found.append((".months", "write until or months, not both"))
    if discount.months is not None and discount.from_ is None and client.start_date is None:
        found.append((".months", "months counts from `from` (or the client's start_date): add one"))
    return found
