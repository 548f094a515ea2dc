"""One resource, many formats: the same handler serves people HTML and programs JSON/YAML/XML/CSV.

Serve it with `trellis run examples/books/app.py`, then:

    open http://127.0.0.1:8000/books/1                                  (HTML, from a template)
    curl http://127.0.0.1:8000/books/1                                  (JSON)
    curl -H 'Accept: application/yaml' http://127.0.0.1:8000/books/1    (YAML)
    curl -H 'Accept: application/xml' http://127.0.0.1:8000/books/1     (XML)
    curl -H 'Accept: text/csv' http://127.0.0.1:8000/books              (CSV, for the list)
    curl -H 'Content-Type: application/yaml' --data-binary $'title: Emma\\nyear: 1815\\n' \\
         http://127.0.0.1:8000/books                                    (create, from YAML)

The handlers return pydantic models; the route's `template=` adds HTML to the formats offered.
"""

from pydantic import BaseModel, Field

from trellis import App, HTTPError, RedirectResponse

app = App()
app.static("/static", "static")


class NewBook(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    author: str = Field(default="Anonymous", max_length=200)
    year: int = Field(ge=0, le=3000)


class Book(NewBook):
    id: int


BOOKS: dict[int, Book] = {
    1: Book(id=1, title="Frankenstein", author="Mary Shelley", year=1818),
    2: Book(id=2, title="The Time Machine", author="H. G. Wells", year=1895),
}


@app.get("/")
def home() -> RedirectResponse:
    return RedirectResponse(app.url_for("list_books"), 303)


@app.get("/books", template="books.html")
def list_books() -> list[Book]:
    return list(BOOKS.values())


@app.get("/books/{id:int}", template="book.html")
def show_book(id: int) -> Book:
    book = BOOKS.get(id)
    if book is None:
        raise HTTPError(404, f"There is no book {id}.")
    return book


@app.post("/books")
def create_book(new: NewBook) -> tuple[Book, int]:
    book = Book(id=max(BOOKS, default=0) + 1, **new.model_dump())
    BOOKS[book.id] = book
    return book, 201
