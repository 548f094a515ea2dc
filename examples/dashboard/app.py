"""Sales explorer: a reactive dashboard over sales data generated here (seeded, so reproducible).

Serve it with `trellis run examples/dashboard/app.py` and open http://127.0.0.1:8000/sales.
Any number of processes can serve it behind a plain load balancer: the browser holds the inputs.
    uvicorn --app-dir examples/dashboard app:app --workers 4

Needs matplotlib for the chart (`pip install trellis[dashboard]`).
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from typing import Any

from matplotlib.figure import Figure

from trellis import App
from trellis.dashboard import (
    Card,
    Checkbox,
    Dashboard,
    DashboardError,
    MultiSelect,
    Row,
    Select,
    Slider,
    Tab,
    Tabs,
)

REGIONS = ["North", "South", "East", "West"]
PRODUCTS = {"Widget": 12.5, "Gadget": 40.0, "Gizmo": 7.25, "Doohickey": 99.0}
MONTHS = 24
FIRST_MONTH = datetime.date(2024, 1, 1)


def month_start(index: int) -> datetime.date:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return datetime.date(FIRST_MONTH.year + year, month + 1, 1)


def generate_sales(seed: int = 7) -> list[dict[str, Any]]:
    """One row per (month, region, product): units sold and revenue, with trend and season."""
    rng = random.Random(seed)
    rows = []
    for index in range(MONTHS):
        season = 1.0 + 0.25 * ((index % 12) in (10, 11))  # a year-end bump
        for r, region in enumerate(REGIONS):
            for product, price in PRODUCTS.items():
                base = 40 + 15 * r + index * (1 + r) * 0.8
                units = max(0, round(rng.gauss(base * season, base * 0.15)))
                rows.append(
                    {
                        "month": month_start(index).isoformat()[:7],
                        "region": region,
                        "product": product,
                        "units": units,
                        "revenue": round(units * price, 2),
                    }
                )
    return rows


SALES = generate_sales()

page = Dashboard(
    "Sales explorer",
    description="Revenue by region, product and month (generated data).",
    sidebar=[
        Select("region", ["All", *REGIONS], label="Region"),
        Slider("months", 3, MONTHS, value=12, label="Last N months"),
        MultiSelect("products", list(PRODUCTS), value=list(PRODUCTS), label="Products"),
        Checkbox("cumulative", label="Cumulative chart"),
    ],
    body=[
        Row("revenue", "units", "best_month"),
        Row(Card("Monthly revenue", "trend"), Card("Summary", "summary")),
        Tabs(
            Tab("By month", Card("Revenue by month and product", "monthly_table")),
            Tab("Price list", Card("Prices", "price_list")),
        ),
    ],
)


@page.calc
def filtered(region: str, months: int, products: list[str]) -> list[dict[str, Any]]:
    """The rows the filters select."""
    if not products:
        raise DashboardError("Pick at least one product.")
    first = month_start(MONTHS - months).isoformat()[:7]
    chosen = set(products)
    return [
        row
        for row in SALES
        if row["month"] >= first
        and (region == "All" or row["region"] == region)
        and row["product"] in chosen
    ]


@page.calc
def by_month(filtered: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Revenue per month and product."""
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in filtered:
        table[row["month"]][row["product"]] += row["revenue"]
    return {month: dict(products) for month, products in sorted(table.items())}


@page.value_box("Revenue", format=",.0f")
def revenue(filtered: list[dict[str, Any]]) -> float:
    return sum(row["revenue"] for row in filtered)


@page.value_box("Units sold", format=",d")
def units(filtered: list[dict[str, Any]]) -> int:
    return sum(row["units"] for row in filtered)


@page.value_box("Best month")
def best_month(by_month: dict[str, dict[str, float]]) -> str:
    return max(by_month, key=lambda month: sum(by_month[month].values()))


@page.plot()
def trend(by_month: dict[str, dict[str, float]], cumulative: bool) -> Figure:
    months = list(by_month)
    figure = Figure(figsize=(6.4, 3.2), layout="tight")
    axes = figure.subplots()
    bottom = [0.0] * len(months)
    products = sorted({p for values in by_month.values() for p in values})
    for product in products:
        values = [by_month[m].get(product, 0.0) for m in months]
        if cumulative:
            running = 0.0
            values = [running := running + v for v in values]
        axes.bar(months, values, bottom=bottom, label=product)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("Revenue")
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    axes.legend(fontsize=7, ncols=2)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


@page.markdown()
def summary(region: str, months: int, filtered: list[dict[str, Any]]) -> str:
    where = "all regions" if region == "All" else f"the **{region}** region"
    return (
        f"Showing {where} over the last **{months}** months.\n\n"
        f"- {len(filtered)} rows of data\n"
        f"- {len({row['product'] for row in filtered})} products"
    )


@page.table(page_size=12, number_format=",.2f")
def monthly_table(by_month: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    return [
        {"month": month, **{p: round(v, 2) for p, v in sorted(values.items())}}
        for month, values in reversed(by_month.items())
    ]


@page.table(sortable=False, number_format=".2f")
def price_list(products: list[str]) -> list[dict[str, Any]]:
    return [{"product": name, "price": PRODUCTS[name]} for name in products]


app = App()
app.mount_dashboard("/sales", page)


@app.get("/")
def index() -> str:
    return '<p><a href="/sales">Open the sales explorer</a></p>'
