"""The seconds from now until the next HH:MM of the local time of TZ (docker/daily.sh's wait).

    python3 seconds_until.py 09:15 [NOW]     # NOW: an ISO time with its offset, for tests

Wall-clock arithmetic in the zone, so a day with a daylight-saving change is 23 or 25 hours.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def seconds_until(at: str, now: datetime) -> int:
    """Seconds from `now` (aware) to the next `at` in now's zone; at least 1."""
    hour, minute = (int(part) for part in at.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target = (target.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=now.tzinfo)
    return max(1, int((target.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))


def main(argv: list[str]) -> int:
    """Print the wait; exit 2 with one line when the time or the zone is not understood."""
    at = argv[1] if len(argv) > 1 else ""
    parts = at.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts) \
            or int(parts[0]) > 23 or int(parts[1]) > 59:
        print(f"FACTURIER_DAILY_AT={at} is not a time like 09:15", file=sys.stderr)
        return 2
    try:
        zone = ZoneInfo(os.environ.get("TZ") or "UTC")
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        print(f"TZ={os.environ.get('TZ')} is not a time zone ({exc})", file=sys.stderr)
        return 2
    now = datetime.fromisoformat(argv[2]).astimezone(zone) if len(argv) > 2 else datetime.now(zone)
    print(seconds_until(at, now))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
