"""HTML forms declared as pydantic models, with what a page needs to show errors.

    class Signup(Form):
        email: str = Field(pattern=r".+@.+")
        password: str = Field(min_length=8)
        age: int | None = None              # an empty <input type=number> means None
        newsletter: bool = False            # an unticked checkbox is simply absent
        topics: list[str] = []              # <select multiple>
        avatar: Annotated[UploadFile | None, file_limits(max_size=10**6)] = None

    @app.post("/signup")
    def signup(request: Request):
        form = Signup.bind(request)
        if not form.is_valid:
            # the template shows form.value("email") and form.error("email")
            return render("signup.html", form=form), 422
        create_user(form.data)

A handler parameter annotated with the form class itself (`form: Signup`) is filled from the body
and answers 422 with the list of field errors when it does not validate (for API clients).
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

import pydantic
from pydantic_core import PydanticCustomError

from .datastructures import UploadFile
from .errors import HTTPError, ValidationError

if TYPE_CHECKING:
    from typing import Self

    from .requests import Request

__all__ = ["BoundForm", "Form", "field_errors", "file_limits"]

FormT = TypeVar("FormT", bound="Form")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _unwrap(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation allows, with Optional and Annotated peeled off."""
    if get_origin(annotation) is Annotated:
        return _unwrap(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(t for arg in get_args(annotation) for t in _unwrap(arg))
    return (annotation,)


def _is_blank_file(value: Any) -> bool:
    return isinstance(value, UploadFile) and not value.filename and value.size == 0


class Form(pydantic.BaseModel):
    """Base class for forms: blank inputs count as missing for non-text fields, files allowed."""

    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _blank_inputs_are_missing(cls, data: Any) -> Any:
        # A browser sends "" for an empty number/date input and an empty part for an empty
        # file input; those mean "not given", so defaults apply (or "Field required" shows).
        if not isinstance(data, dict):
            return data
        text_fields = _text_fields(cls)
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, list):
                value = [v for v in value if v != "" and not _is_blank_file(v)]
            elif _is_blank_file(value) or (value == "" and key not in text_fields):
                continue
            cleaned[key] = value
        return cleaned

    @classmethod
    def bind(cls, request: Request) -> BoundForm[Self]:
        """Validate the request's form (or JSON) body against this form."""
        values = _submitted_values(cls, request)
        try:
            return BoundForm(cls, values, cls.model_validate(values), [])
        except pydantic.ValidationError as exc:
            return BoundForm(cls, values, None, field_errors(exc))

    @classmethod
    def blank(cls, **initial: Any) -> BoundForm[Self]:
        """An unsubmitted form for the first page view, optionally with initial values."""
        return BoundForm(cls, dict(initial), None, [])


def _text_fields(model: type[pydantic.BaseModel]) -> frozenset[str]:
    names = set()
    for name, field in model.model_fields.items():
        allowed = _unwrap(field.annotation)
        if str in allowed or pydantic.SecretStr in allowed or Any in allowed:
            names.add(name)
            if field.alias:
                names.add(field.alias)
    return frozenset(names)


def _submitted_values(form: type[Form], request: Request) -> dict[str, Any]:
    content_type = request.content_type
    if content_type == "application/json" or content_type.endswith("+json"):
        data = request.json()
        if not isinstance(data, dict):
            raise HTTPError(400, "The JSON body must be an object with one key per form field.")
        return data
    if content_type in _FORM_TYPES or not content_type:
        from .handlers import _list_fields

        submitted = request.form()
        list_fields = _list_fields(form)
        values: dict[str, Any] = {}
        for key in submitted:
            items = submitted.getlist(key)
            values[key] = items if len(items) > 1 or key in list_fields else items[0]
        return values
    raise HTTPError(
        415,
        f"Unsupported Content-Type {content_type!r} for a form; send "
        "application/x-www-form-urlencoded, multipart/form-data or JSON.",
    )


def field_errors(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors in Trellis's shape: `{"loc", "field", "message", "type"}`."""
    errors = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        errors.append(
            {
                "loc": ["body", *loc],
                "field": ".".join(loc),
                "message": message,
                "type": error["type"],
            }
        )
    return errors


class BoundForm(Generic[FormT]):
    """A form with what was submitted: the validated `data` or the errors per field.

    Templates re-render with `form.value(name)` (the submitted text; never passwords, secrets
    or files) and `form.error(name)` / `form.errors[name]`. Values are plain text: the template
    engine escapes them, so hostile input shows as text.
    """

    def __init__(
        self,
        form_class: type[FormT],
        values: dict[str, Any],
        data: FormT | None,
        errors: list[dict[str, Any]],
    ) -> None:
        self.form_class = form_class
        self.values = values
        self._data = data
        self.error_list = errors
        self.errors: dict[str, list[str]] = {}
        for error in errors:
            self.errors.setdefault(error["field"].split(".")[0], []).append(error["message"])

    @property
    def is_valid(self) -> bool:
        """True when the form was submitted and every field validated."""
        return self._data is not None

    @property
    def submitted(self) -> bool:
        """True when the form came from a request (not `Form.blank()`)."""
        return self._data is not None or bool(self.error_list)

    @property
    def data(self) -> FormT:
        """The validated form; raises 422 when it did not validate (check `is_valid` first)."""
        if self._data is None:
            raise ValidationError(self.error_list)
        return self._data

    def value(self, name: str, default: Any = "") -> Any:
        """What the user entered in field `name`, for the form's `value=` (text or a list)."""
        if _never_rerendered(self.form_class, name):
            return default
        value = self.values.get(name, default)
        if isinstance(value, UploadFile):
            return default
        if isinstance(value, list):
            return [v for v in value if not isinstance(v, UploadFile)]
        return value

    def error(self, name: str) -> str:
        """The first error message for field `name`, or "" (form-wide errors: name "")."""
        messages = self.errors.get(name)
        return messages[0] if messages else ""

    def add_error(self, name: str, message: str) -> None:
        """Report a problem found after validation (e.g. "email already taken"); the form
        is then invalid."""
        self.error_list.append(
            {"loc": ["body", name], "field": name, "message": message, "type": "value_error"}
        )
        self.errors.setdefault(name, []).append(message)
        self._data = None

    def has_error(self, name: str) -> bool:
        """True when field `name` failed validation."""
        return name in self.errors

    def __repr__(self) -> str:
        state = "valid" if self.is_valid else f"errors={sorted(self.errors)}"
        return f"<BoundForm {self.form_class.__name__} {state}>"


def _never_rerendered(form: type[Form], name: str) -> bool:
    if "password" in name.lower():
        return True
    field = form.model_fields.get(name)
    if field is None:
        return False
    allowed = _unwrap(field.annotation)
    return pydantic.SecretStr in allowed or UploadFile in allowed


def file_limits(
    *,
    max_size: int | None = None,
    content_types: Iterable[str] | None = None,
) -> pydantic.AfterValidator:
    """Limits for a file field: `avatar: Annotated[UploadFile | None, file_limits(...)] = None`.

    `content_types` are the media types accepted (`image/png`, or `image/*`). The type is what
    the browser declared, so check the content itself where it matters. Every upload is also
    bounded by the app's MAX_BODY_SIZE and MAX_FORM_FILES.
    """
    allowed = tuple(t.lower() for t in content_types) if content_types else None

    def check(value: Any) -> Any:
        if not isinstance(value, UploadFile):
            return value
        if max_size is not None and value.size > max_size:
            raise PydanticCustomError(
                "file_too_large",
                "The file is {size} bytes; the limit is {max_size} bytes.",
                {"size": value.size, "max_size": max_size},
            )
        if allowed is not None:
            kind = value.content_type.partition(";")[0].strip().lower()
            family = kind.split("/")[0] + "/*"
            if kind not in allowed and family not in allowed:
                raise PydanticCustomError(
                    "file_type",
                    "Files of type {kind} are not accepted; send {allowed}.",
                    {"kind": kind or "(none)", "allowed": ", ".join(allowed)},
                )
        return value

    return pydantic.AfterValidator(check)
