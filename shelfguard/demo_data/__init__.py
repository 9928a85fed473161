"""Deterministic demo deliveries for every retailer, rendered from the retailer contracts.

The generator draws one canonical truth (products with GTINs, stores with GLNs, daily sales and
stock) from a seed and writes it the way each contract says the retailer delivers it: columns,
transforms, date formats, file format and hints, shape, cadence and file names. Faults are injected
on demand and recorded in the `GenerationReport`. See docs/demo-data.md.
"""

from shelfguard.demo_data.calendar import AS_OF_ENV, START_ENV, parse_moment
from shelfguard.demo_data.faults import FAULTS
from shelfguard.demo_data.generator import (
    DEFAULT_DAYS,
    DEFAULT_PRODUCTS,
    DEFAULT_SEED,
    DEFAULT_STORES,
    REPORT_FILE,
    generate,
    retailer_specs,
)
from shelfguard.demo_data.models import Delivery, FaultInjection, GenerationReport, MasterData

__all__ = [
    "AS_OF_ENV",
    "START_ENV",
    "parse_moment",
    "DEFAULT_DAYS",
    "DEFAULT_PRODUCTS",
    "DEFAULT_SEED",
    "DEFAULT_STORES",
    "FAULTS",
    "REPORT_FILE",
    "Delivery",
    "FaultInjection",
    "GenerationReport",
    "MasterData",
    "generate",
    "retailer_specs",
]
