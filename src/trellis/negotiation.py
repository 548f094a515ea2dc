"""Accept-header negotiation: which of the formats we can produce does the client prefer?"""

from __future__ import annotations

import math
from functools import lru_cache


@lru_cache(maxsize=256)
def parse_accept(header: str) -> tuple[tuple[str, float, int], ...]:
    """Parse an Accept header into (media type, q, specificity), best first.

    Malformed entries are skipped; a missing q means 1; q outside 0..1 is clamped.
    """
    entries = []
    for position, item in enumerate(header.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0) if math.isfinite(q) else 0.0
        kind, _, sub = media.partition("/")
        specificity = 0 if kind == "*" else 1 if sub == "*" else 2
        entries.append((media, q, specificity, position))
    entries.sort(key=lambda e: (-e[1], -e[2], e[3]))
    return tuple((media, q, spec) for media, q, spec, _ in entries)


def _quality(offer: str, accepted: tuple[tuple[str, float, int], ...]) -> float:
    kind, _, sub = offer.partition("/")
    # Most specific range wins: the exact type, then a structured-syntax suffix
    # (application/json covers application/problem+json, RFC 6839), then type/*, then */*.
    best_rank = -1
    best_q = 0.0
    for media, q, _ in accepted:
        a_kind, _, a_sub = media.partition("/")
        if media == offer:
            rank = 3
        elif a_kind == kind and a_sub != "*" and sub.endswith("+" + a_sub):
            rank = 2
        elif a_kind == kind and a_sub == "*":
            rank = 1
        elif a_kind == "*":
            rank = 0
        else:
            continue
        if rank > best_rank:
            best_rank, best_q = rank, q
    return best_q


def best_match(header: str | None, offers: tuple[str, ...]) -> str | None:
    """The offer the client likes best (ties go to the earlier offer); None if it accepts none.

    No Accept header means anything is acceptable, so the first offer wins.
    """
    if not header:
        return offers[0] if offers else None
    accepted = parse_accept(header)
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q = _quality(offer, accepted)
        if q > best_q:
            best, best_q = offer, q
    return best
