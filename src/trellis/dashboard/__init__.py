"""Reactive dashboards defined in Python.

    from trellis import App
    from trellis.dashboard import Dashboard, Select, Slider

    page = Dashboard("Sales", sidebar=[Select("region", ["North", "South"]),
                                       Slider("months", 1, 12)])

    @page.calc
    def filtered(region, months): ...

    @page.table()
    def rows(filtered):
        return filtered

    app = App()
    app.mount_dashboard("/sales", page)

Parameter names say what each calc and output reads; only what is downstream of a changed input
is recomputed. The browser keeps all session state, so any server process can answer any update.
"""

from .client import DashboardClient, DashboardUpdateError
from .events import LocalBroker, RedisBroker, publish, use_broker
from .inputs import (
    Button,
    Checkbox,
    Date,
    DateRange,
    FileUpload,
    Input,
    InputError,
    MultiSelect,
    Numeric,
    Radio,
    Select,
    Slider,
    Text,
    UploadedFile,
)
from .mount import MountedDashboard, mount_dashboard
from .outputs import Rendered
from .page import Card, Column, Dashboard, Row, Tab, Tabs
from .reactive import DashboardError, Evaluation, Graph, GraphError, evaluate

__all__ = [
    "Button",
    "Card",
    "Checkbox",
    "Column",
    "Dashboard",
    "DashboardClient",
    "DashboardError",
    "DashboardUpdateError",
    "Date",
    "DateRange",
    "Evaluation",
    "FileUpload",
    "Graph",
    "GraphError",
    "Input",
    "InputError",
    "LocalBroker",
    "MountedDashboard",
    "MultiSelect",
    "Numeric",
    "Radio",
    "RedisBroker",
    "Rendered",
    "Row",
    "Select",
    "Slider",
    "Tab",
    "Tabs",
    "Text",
    "UploadedFile",
    "evaluate",
    "mount_dashboard",
    "publish",
    "use_broker",
]
