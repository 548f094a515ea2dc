"""Specification of forms: coercion of browser input, per-field errors, re-rendering helpers."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import pydantic
import pytest

from trellis import App, Request, UploadFile
from trellis.forms import Form, file_limits
from trellis.testing import TestClient


class Profile(Form):
    name: str = pydantic.Field(min_length=2, max_length=40)
    password: str = ""
    token: pydantic.SecretStr | None = None
    age: int | None = None
    height: float | None = None
    price: Decimal | None = None
    born: datetime.date | None = None
    meeting: datetime.datetime | None = None
    newsletter: bool = False
    colour: Literal["red", "green", "blue"] = "red"
    topics: list[str] = []
    scores: list[int] = []
    avatar: Annotated[
        UploadFile | None, file_limits(max_size=100, content_types=["image/png", "text/*"])
    ] = None


@pytest.fixture
def app() -> App:
    app = App(settings={})

    @app.post("/profile")
    def profile(request: Request) -> dict[str, Any]:
        form = Profile.bind(request)
        if not form.is_valid:
            return {
                "errors": form.errors,
                "name": form.value("name"),
                "password": form.value("password"),
                "token": form.value("token"),
                "topics": form.value("topics"),
            }
        data = form.data.model_dump(mode="json", exclude={"avatar", "token"})
        data["avatar"] = form.data.avatar.filename if form.data.avatar else None
        return {"data": data}

    @app.post("/api/profile")
    def api_profile(form: Profile) -> dict[str, Any]:
        return {"name": form.name}

    return app


def submit(client: TestClient, **fields: Any) -> dict[str, Any]:
    files = fields.pop("files", None)
    result: dict[str, Any] = client.post("/profile", data=fields, files=files).json()
    return result


def test_a_valid_form_gives_typed_data(client: TestClient) -> None:
    result = submit(
        client,
        name="Ada",
        age="36",
        height="1.65",
        price="9.99",
        born="1815-12-10",
        meeting="2024-05-01T09:30",
        colour="green",
    )

    assert result["data"] | {"avatar": None} == {
        "name": "Ada",
        "password": "",
        "age": 36,
        "height": 1.65,
        "price": "9.99",
        "born": "1815-12-10",
        "meeting": "2024-05-01T09:30:00",
        "newsletter": False,
        "colour": "green",
        "topics": [],
        "scores": [],
        "avatar": None,
    }


def test_empty_number_and_date_inputs_mean_not_given(client: TestClient) -> None:
    result = submit(client, name="Ada", age="", height="", born="", meeting="")

    assert result["data"]["age"] is None
    assert result["data"]["born"] is None


def test_a_ticked_checkbox_is_true_and_an_unticked_one_false(client: TestClient) -> None:
    assert submit(client, name="Ada", newsletter="on")["data"]["newsletter"] is True
    assert submit(client, name="Ada")["data"]["newsletter"] is False


def test_a_multi_select_gives_a_list_even_with_one_choice(client: TestClient) -> None:
    assert submit(client, name="Ada", topics=["a", "b"])["data"]["topics"] == ["a", "b"]
    assert submit(client, name="Ada", topics="a")["data"]["topics"] == ["a"]


def test_a_multi_select_of_numbers_is_converted(client: TestClient) -> None:
    assert submit(client, name="Ada", scores=["1", "2"])["data"]["scores"] == [1, 2]


def test_errors_are_reported_per_field(client: TestClient) -> None:
    result = submit(client, name="A", age="old", born="yesterday", colour="pink")

    assert set(result["errors"]) == {"name", "age", "born", "colour"}
    assert "at least 2 characters" in result["errors"]["name"][0]


def test_a_missing_required_field_is_reported(client: TestClient) -> None:
    result = submit(client, age="3")

    assert result["errors"]["name"] == ["Field required"]


def test_submitted_values_come_back_for_re_rendering(client: TestClient) -> None:
    result = submit(client, name="A", topics=["x", "y"], age="old")

    assert result["name"] == "A"
    assert result["topics"] == ["x", "y"]


def test_passwords_and_secrets_are_never_re_rendered(client: TestClient) -> None:
    result = submit(client, name="A", password="hunter2", token="t0ken")

    assert result["password"] == ""
    assert result["token"] == ""


def test_an_uploaded_file_within_the_limits_is_accepted(client: TestClient) -> None:
    result = submit(client, name="Ada", files={"avatar": ("me.png", b"\x89PNG", "image/png")})

    assert result["data"]["avatar"] == "me.png"


def test_an_empty_file_input_means_no_file(client: TestClient) -> None:
    result = submit(client, name="Ada", files={"avatar": ("", b"", "application/octet-stream")})

    assert result["data"]["avatar"] is None


def test_a_file_over_its_size_limit_is_a_field_error(client: TestClient) -> None:
    result = submit(client, name="Ada", files={"avatar": ("big.png", b"x" * 101, "image/png")})

    assert result["errors"]["avatar"] == ["The file is 101 bytes; the limit is 100 bytes."]


def test_a_file_of_another_type_is_a_field_error(client: TestClient) -> None:
    result = submit(
        client, name="Ada", files={"avatar": ("x.exe", b"MZ", "application/x-msdownload")}
    )

    assert "not accepted" in result["errors"]["avatar"][0]


def test_a_wildcard_content_type_accepts_the_family(client: TestClient) -> None:
    result = submit(client, name="Ada", files={"avatar": ("a.csv", b"a,b", "text/csv")})

    assert result["data"]["avatar"] == "a.csv"


def test_a_file_sent_for_a_text_field_is_a_field_error(client: TestClient) -> None:
    result = submit(client, files={"name": ("x.txt", b"hi", "text/plain")})

    assert "name" in result["errors"]


def test_api_clients_get_422_with_the_list_of_field_errors(client: TestClient) -> None:
    response = client.post("/api/profile", data={"name": "A", "age": "x"})

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"name", "age"}


def test_the_same_form_takes_json(client: TestClient) -> None:
    assert client.post("/api/profile", json={"name": "Ada"}).json() == {"name": "Ada"}


def test_a_form_body_of_another_type_is_415(client: TestClient) -> None:
    response = client.post("/profile", content=b"<x/>", headers={"Content-Type": "text/xml"})

    assert response.status_code == 415


def test_a_blank_form_has_no_errors_and_the_initial_values() -> None:
    form = Profile.blank(name="Ada")

    assert not form.submitted
    assert not form.is_valid
    assert form.value("name") == "Ada"
    assert form.error("name") == ""


def test_using_the_data_of_an_invalid_form_answers_422(app: App, client: TestClient) -> None:
    @app.post("/careless")
    def careless(request: Request) -> str:
        return Profile.bind(request).data.name

    response = client.post("/careless", data={"name": "A"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_an_error_added_after_validation_makes_the_form_invalid(
    app: App, client: TestClient
) -> None:
    @app.post("/taken")
    def taken(request: Request) -> dict[str, Any]:
        form = Profile.bind(request)
        assert form.is_valid
        form.add_error("name", "That name is taken.")
        return {"valid": form.is_valid, "errors": form.errors}

    response = client.post("/taken", data={"name": "Ada"})

    assert response.json() == {"valid": False, "errors": {"name": ["That name is taken."]}}
