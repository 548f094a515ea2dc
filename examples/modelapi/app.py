"""A machine-learning model behind an API key: iris species from flower measurements.

A scikit-learn logistic regression is trained at start-up on the iris data set that ships with
scikit-learn (nothing is downloaded). Predictions need an API key with the `models:predict`
scope; the health endpoint and the docs do not. Field observations (flowers measured and named
by people, the data a next model could learn from) are a REST resource made from a table, read
with `observations:read` and written with `observations:write`.

    pip install -e '.[ml]'
    trellis apikeys create --app examples/modelapi/app.py --name demo --scope models:predict
    trellis run examples/modelapi/app.py
    python examples/modelapi/client.py --key trk_...       # or open http://127.0.0.1:8000/docs

Keys and observations live in the app's database: DATABASE_URL (TRELLIS_DATABASE_URL), by
default a SQLite file in examples/modelapi/instance/.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from trellis import App, HTTPError, RedirectResponse
from trellis.auth.apikeys import APIKeys, requires_scope
from trellis.db import Database, Mapped, Model, String, mapped_column
from trellis.openapi import OpenAPI
from trellis.resources import Resource

SPECIES = ("setosa", "versicolor", "virginica")
Species = Literal["setosa", "versicolor", "virginica"]
Measurement = Annotated[float, Field(ge=0, le=100, description="Centimetres.")]

app = App()
db = Database(app)
keys = APIKeys(app, rate_limit="6000/minute")
OpenAPI(
    app,
    title="Iris model API",
    version="1.0.0",
    description=(
        "Predicts the species of an iris flower from four measurements. Prediction endpoints "
        "need an API key with the models:predict scope, sent as X-API-Key or "
        "Authorization: Bearer."
    ),
    tags=[
        {"name": "predictions", "description": "Ask the model."},
        {"name": "observations", "description": "Flowers measured and named by people."},
        {"name": "service", "description": "Is it up, and what is it serving?"},
    ],
)


class Observation(Model):
    """One flower measured in the field (centimetres) and the species a botanist named."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    sepal_length: Mapped[float]
    sepal_width: Mapped[float]
    petal_length: Mapped[float]
    petal_width: Mapped[float]
    species: Mapped[str | None] = mapped_column(String(20))
    observer: Mapped[str] = mapped_column(String(100), default="anonymous")


Resource(
    app,
    Observation,
    filters=["species", "observer"],
    ordering=["petal_length", "sepal_length"],
    scopes={"read": "observations:read", "write": "observations:write"},
)
app.on_startup(db.create_all)  # a demo: a long-lived database would use `trellis db upgrade`


class Flower(BaseModel):
    """The four measurements of one iris flower."""

    sepal_length: Measurement
    sepal_width: Measurement
    petal_length: Measurement
    petal_width: Measurement

    model_config = {
        "strict": True,  # JSON numbers only: true/false or "5.1" are refused, as the schema says
        "json_schema_extra": {
            "examples": [
                {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
            ]
        },
    }


class Prediction(BaseModel):
    species: Species
    probabilities: dict[str, float] = Field(description="Probability of each species.")


class Batch(BaseModel):
    model_config = {"strict": True}

    flowers: list[Flower] = Field(min_length=1, max_length=1000)


class BatchPrediction(BaseModel):
    predictions: list[Prediction]


class Health(BaseModel):
    status: Literal["ok", "starting"]
    model: str
    training_accuracy: float | None
    uptime_seconds: float


class IrisModel:
    """The classifier, trained once when the app starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classifier: object | None = None
        self.accuracy: float | None = None
        self.started = time.monotonic()

    def train(self) -> None:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        with self._lock:
            if self._classifier is not None:
                return
            features, labels = load_iris(return_X_y=True)
            classifier = LogisticRegression(max_iter=1000).fit(features, labels)
            self.accuracy = round(float(classifier.score(features, labels)), 4)
            self._classifier = classifier

    def predict(self, flowers: list[Flower]) -> list[Prediction]:
        classifier = self._classifier
        if classifier is None:
            raise HTTPError(503, "The model is still training; retry in a moment.")
        rows = [[f.sepal_length, f.sepal_width, f.petal_length, f.petal_width] for f in flowers]
        probabilities = classifier.predict_proba(rows)  # type: ignore[attr-defined]
        results = []
        for row in probabilities:
            best = max(range(len(SPECIES)), key=lambda i: row[i])
            results.append(
                Prediction(
                    species=SPECIES[best],
                    probabilities={
                        s: round(float(p), 6) for s, p in zip(SPECIES, row, strict=True)
                    },
                )
            )
        return results


model = IrisModel()
app.on_startup(model.train)


@app.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    return RedirectResponse("/docs", 303)


@app.get("/health", tags=["service"])
def health() -> Health:
    """Whether the model is loaded, and how well it fits its training data."""
    return Health(
        status="ok" if model.accuracy is not None else "starting",
        model="iris logistic regression (scikit-learn)",
        training_accuracy=model.accuracy,
        uptime_seconds=round(time.monotonic() - model.started, 3),
    )


@app.post("/predict", tags=["predictions"], responses={503: "The model is still training."})
@requires_scope("models:predict")
def predict(flower: Flower) -> Prediction:
    """Predict the species of one flower."""
    return model.predict([flower])[0]


@app.post("/predict/batch", tags=["predictions"], responses={503: "The model is still training."})
@requires_scope("models:predict")
def predict_batch(batch: Batch) -> BatchPrediction:
    """Predict the species of up to 1000 flowers in one request."""
    return BatchPrediction(predictions=model.predict(batch.flowers))
