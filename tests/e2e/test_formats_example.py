"""The books example serves one resource as HTML and as JSON/YAML/XML/CSV, under every server."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
import yaml

from trellis.formats import load_xml

from .servers import REQUEST_TIMEOUT, RunningServer

pytestmark = pytest.mark.e2e

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
BOOK = {"id": 1, "title": "Frankenstein", "author": "Mary Shelley", "year": 1818}


def test_a_browser_gets_the_html_page(books_server: RunningServer) -> None:
    response = books_server.get("/books/1", headers={"accept": BROWSER})

    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<h1 id="title">Frankenstein</h1>' in response.text
    assert "/static/style.css?v=" in response.text


def test_a_program_gets_json_by_default(books_server: RunningServer) -> None:
    response = books_server.get("/books/1")

    assert response.headers["content-type"] == "application/json"
    assert response.json() == BOOK


def test_the_same_handler_answers_yaml_and_xml(books_server: RunningServer) -> None:
    as_yaml = books_server.get("/books/1", headers={"accept": "application/yaml"})
    as_xml = books_server.get("/books/1", headers={"accept": "application/xml"})

    assert yaml.safe_load(as_yaml.text) == BOOK
    assert load_xml(as_xml.content) == {k: str(v) for k, v in BOOK.items()}
    assert as_yaml.headers["vary"] == "accept"


def test_the_list_is_also_csv(books_server: RunningServer) -> None:
    response = books_server.get("/books", headers={"accept": "text/csv"})

    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert rows[0] == {k: str(v) for k, v in BOOK.items()}


def test_creating_from_yaml_answers_in_the_format_asked_for(books_server: RunningServer) -> None:
    response = httpx.post(
        books_server.url("/books"),
        content=b"title: Emma\nauthor: Jane Austen\nyear: 1815\n",
        headers={"content-type": "application/yaml", "accept": "application/xml"},
        timeout=REQUEST_TIMEOUT,
    )

    assert response.status_code == 201
    created = load_xml(response.content)
    assert (created["title"], created["year"]) == ("Emma", "1815")


def test_hostile_xml_is_refused_by_a_real_server(books_server: RunningServer) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<book><title>&x;</title><year>1</year></book>"
    )

    response = httpx.post(
        books_server.url("/books"),
        content=body,
        headers={"content-type": "application/xml"},
        timeout=REQUEST_TIMEOUT,
    )

    assert response.status_code == 400


def test_an_unacceptable_format_is_406(books_server: RunningServer) -> None:
    assert books_server.get("/books/1", headers={"accept": "image/png"}).status_code == 406
