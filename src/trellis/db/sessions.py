"""Session classes with the lookups a web handler needs: `get_or_404`, `first_or_404`, `paginate`.

`Session` and `AsyncSession` are SQLAlchemy's, extended; annotate a handler parameter with either
and `Database` injects the request's session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy.ext.asyncio
import sqlalchemy.orm
from sqlalchemy import Select, func, select

from ..errors import HTTPError

if TYPE_CHECKING:
    from ..requests import Request
    from .pagination import Page

T = TypeVar("T")


def _not_found(model: type[Any], ident: Any, detail: str | None) -> HTTPError:
    if detail is None:
        detail = f"{model.__name__} {ident!r} was not found."
    return HTTPError(404, detail)


class Session(sqlalchemy.orm.Session):
    """A SQLAlchemy session with web conveniences."""

    def get_or_404(self, model: type[T], ident: Any, *, detail: str | None = None) -> T:
        """The row of `model` with primary key `ident`, or a 404 naming what was missing."""
        row = self.get(model, ident)
        if row is None:
            raise _not_found(model, ident, detail)
        return row

    def first_or_404(self, statement: Select[T], *, detail: str | None = None) -> T:
        """The first row `statement` selects, or a 404."""
        row = self.scalars(statement.limit(1)).first()
        if row is None:
            raise HTTPError(404, detail or "Nothing matches the request.")
        return row

    def paginate(
        self,
        statement: Select[T],
        request: Request,
        *,
        per_page: int = 20,
        max_per_page: int = 100,
    ) -> Page[T]:
        """One page of `statement`'s rows, chosen by the `page` and `per_page` query parameters.

        Returns a `Page` (items, total, links); `page.to_dict()` is a response body.
        """
        from .pagination import Page, read_page_params

        page, size = read_page_params(request, per_page, max_per_page)
        total = self.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
        items = list(self.scalars(statement.limit(size).offset((page - 1) * size)))
        return Page(items, page, size, int(total or 0), request)


class AsyncSession(sqlalchemy.ext.asyncio.AsyncSession):
    """An asyncio SQLAlchemy session with the same web conveniences (awaited)."""

    sync_session_class = Session

    async def get_or_404(self, model: type[T], ident: Any, *, detail: str | None = None) -> T:
        """The row of `model` with primary key `ident`, or a 404."""
        row = await self.get(model, ident)
        if row is None:
            raise _not_found(model, ident, detail)
        return row

    async def first_or_404(self, statement: Select[T], *, detail: str | None = None) -> T:
        """The first row `statement` selects, or a 404."""
        row = (await self.scalars(statement.limit(1))).first()
        if row is None:
            raise HTTPError(404, detail or "Nothing matches the request.")
        return row

    async def paginate(
        self,
        statement: Select[T],
        request: Request,
        *,
        per_page: int = 20,
        max_per_page: int = 100,
    ) -> Page[T]:
        """One page of rows, as `Session.paginate`."""
        from .pagination import Page, read_page_params

        page, size = read_page_params(request, per_page, max_per_page)
        count = select(func.count()).select_from(statement.order_by(None).subquery())
        total = await self.scalar(count)
        items = list(await self.scalars(statement.limit(size).offset((page - 1) * size)))
        return Page(items, page, size, int(total or 0), request)
