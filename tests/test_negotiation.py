"""Specification of Accept negotiation: `parse_accept` and `best_match` (RFC 9110 §12.5.1)."""

from __future__ import annotations

import math

import pytest

from trellis.negotiation import best_match, parse_accept

JSON = "application/json"
HTML = "text/html"
YAML = "application/yaml"
XML = "application/xml"
PROBLEM = "application/problem+json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# -- parse_accept --------------------------------------------------------------------------------


def test_parse_accept_defaults_q_to_one() -> None:
    assert parse_accept("application/json") == ((JSON, 1.0, 2),)


def test_parse_accept_orders_by_q_then_specificity_then_position() -> None:
    parsed = parse_accept("*/*;q=0.8, text/*, text/html, application/json;q=0.9, text/plain")

    assert [media for media, _, _ in parsed] == [
        "text/html",
        "text/plain",
        "text/*",
        "application/json",
        "*/*",
    ]


def test_parse_accept_reports_specificity() -> None:
    parsed = dict((media, spec) for media, _, spec in parse_accept("*/*, text/*, text/html"))

    assert parsed == {"*/*": 0, "text/*": 1, "text/html": 2}


def test_parse_accept_lowercases_and_trims() -> None:
    assert parse_accept("  Application/JSON ; Q=0.5 ") == ((JSON, 0.5, 2),)


def test_parse_accept_ignores_other_parameters() -> None:
    assert parse_accept("text/plain; charset=utf-8; q=0.3") == (("text/plain", 0.3, 2),)


@pytest.mark.parametrize("header", ["garbage", "", ",,,", "json", ";q=1"])
def test_parse_accept_skips_malformed_entries(header: str) -> None:
    assert parse_accept(header) == ()


def test_parse_accept_keeps_valid_entries_next_to_malformed_ones() -> None:
    assert parse_accept("garbage, application/json;q=0.5, ;;") == ((JSON, 0.5, 2),)


@pytest.mark.parametrize(("raw", "q"), [("2", 1.0), ("-1", 0.0), ("1.5", 1.0), ("0.001", 0.001)])
def test_parse_accept_clamps_q_to_zero_one(raw: str, q: float) -> None:
    assert parse_accept(f"text/html;q={raw}") == ((HTML, q, 2),)


def test_parse_accept_treats_unparseable_q_as_not_acceptable() -> None:
    assert parse_accept("text/html;q=high") == ((HTML, 0.0, 2),)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf"])
def test_parse_accept_gives_non_finite_q_a_value_in_range(raw: str) -> None:
    [(_, q, _)] = parse_accept(f"text/html;q={raw}")

    assert math.isfinite(q)
    assert 0.0 <= q <= 1.0


def test_nan_q_does_not_make_an_entry_acceptable() -> None:
    assert best_match("text/html;q=nan, application/json;q=0.1", (HTML, JSON)) == JSON


# -- best_match: basics ----------------------------------------------------------------------------


def test_no_accept_header_gives_the_first_offer() -> None:
    assert best_match(None, (JSON, HTML)) == JSON
    assert best_match("", (HTML, JSON)) == HTML


def test_no_offers_gives_none() -> None:
    assert best_match(None, ()) is None
    assert best_match(JSON, ()) is None


def test_exact_match_is_chosen() -> None:
    assert best_match(HTML, (JSON, HTML)) == HTML


def test_nothing_acceptable_gives_none() -> None:
    assert best_match("image/png", (JSON, HTML)) is None


def test_higher_q_wins_over_offer_order() -> None:
    assert best_match("application/json;q=0.5, text/html", (JSON, HTML)) == HTML


def test_equal_q_goes_to_the_earlier_offer() -> None:
    assert best_match("text/html, application/json", (JSON, HTML)) == JSON
    assert best_match("text/html, application/json", (HTML, JSON)) == HTML


def test_match_is_case_insensitive() -> None:
    assert best_match("TEXT/HTML", (JSON, HTML)) == HTML


# -- best_match: wildcards and specificity ---------------------------------------------------------


def test_any_type_accepts_the_first_offer() -> None:
    assert best_match("*/*", (HTML, JSON)) == HTML


def test_any_type_with_low_q_still_accepts_when_nothing_better() -> None:
    assert best_match("*/*;q=0.1", (JSON, HTML)) == JSON


def test_low_q_any_type_loses_to_an_explicit_type() -> None:
    assert best_match("*/*;q=0.1, text/html", (JSON, HTML)) == HTML


def test_subtype_wildcard_matches_its_type_only() -> None:
    assert best_match("application/*", (HTML, JSON)) == JSON
    assert best_match("application/*", (HTML,)) is None


def test_browser_accept_prefers_html_over_json() -> None:
    assert best_match(BROWSER_ACCEPT, (JSON, HTML)) == HTML


def test_browser_accept_prefers_xml_over_json() -> None:
    assert best_match(BROWSER_ACCEPT, (JSON, YAML, XML)) == XML


def test_most_specific_range_sets_the_quality() -> None:
    # RFC 9110 §12.5.1: text/html gets 0.7 from its own entry, not 0.3 from text/*.
    header = "text/*;q=0.3, text/html;q=0.7, */*;q=0.5"

    assert best_match(header, ("text/plain", "image/png")) == "image/png"
    assert best_match(header, ("image/png", HTML)) == HTML


def test_specific_entry_overrides_a_wildcard_regardless_of_order() -> None:
    assert best_match("text/html;q=0.2, text/*", (HTML, "text/plain")) == "text/plain"


# -- best_match: q=0 -----------------------------------------------------------------------------


def test_q_zero_means_not_acceptable() -> None:
    assert best_match("application/json;q=0", (JSON,)) is None


def test_q_zero_excludes_a_type_that_a_wildcard_would_accept() -> None:
    assert best_match("application/json;q=0, */*", (JSON, HTML)) == HTML


def test_q_zero_wildcard_leaves_only_listed_types() -> None:
    assert best_match("text/html, */*;q=0", (JSON, HTML)) == HTML
    assert best_match("text/html, */*;q=0", (JSON,)) is None


def test_q_zero_on_any_type_refuses_everything() -> None:
    assert best_match("*/*;q=0", (JSON, HTML)) is None


# -- best_match: structured syntax suffixes (+json) ----------------------------------------------


def test_plus_json_type_matches_exactly() -> None:
    assert best_match(PROBLEM, (JSON, PROBLEM)) == PROBLEM


def test_plus_json_offer_matches_its_type_wildcard() -> None:
    assert best_match("application/*", (HTML, PROBLEM)) == PROBLEM


def test_plus_json_accept_does_not_match_html() -> None:
    assert best_match(PROBLEM, (HTML,)) is None


def test_json_accept_accepts_a_plus_json_offer() -> None:
    # RFC 6839 §3.1: any +json type can be processed as JSON by a client that asks for JSON.
    assert best_match(JSON, (HTML, PROBLEM)) == PROBLEM


def test_json_accept_prefers_plain_json_over_plus_json_when_q_differs() -> None:
    assert best_match("application/json, application/problem+json;q=0.5", (PROBLEM, JSON)) == JSON


def test_suffix_rule_does_not_confuse_type_with_subtype() -> None:
    # A range like "json/*" names the top-level type "json"; it says nothing about "+json".
    assert best_match("json/*", (PROBLEM,)) is None
