"""The canonical truth behind the demo deliveries: products, stores, daily sales and stock.

Everything is drawn from NumPy generators seeded with (seed, what, retailer code hash, day), so a
retailer's data does not depend on which other retailers are generated, and a day's sales do not
depend on how many days are generated. Retailer-specific presentation (ids, GTIN form, labels)
follows the retailer's contract: its patterns and valid values.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from shelfguard.demo_data.patterns import gs1_check_digit, gs1_code, sequence_from_pattern
from shelfguard.demo_data.spec import RetailerSpec

# currency -> (units per US dollar, minor-unit digits)
CURRENCIES = {
    "USD": (1.0, 2),
    "CAD": (1.36, 2),
    "EUR": (0.92, 2),
    "GBP": (0.79, 2),
    "JPY": (150.0, 0),
    "ARS": (900.0, 2),
    "AUD": (1.52, 2),
    "NOK": (10.6, 2),
}
# ISO country -> GS1 prefix of codes issued there (GTINs of local products, GLNs of stores)
GS1_PREFIXES = {
    "US": "0",
    "CA": "0",
    "DE": "40",
    "FR": "30",
    "GB": "50",
    "JP": "45",
    "AR": "779",
    "AU": "93",
    "NO": "70",
}
# ISO country -> (city, region) of demo stores; regions are the codes retailers there use
PLACES = {
    "US": [
        ("Springfield", "IL"),
        ("Portland", "OR"),
        ("Austin", "TX"),
        ("Albany", "NY"),
        ("Columbus", "OH"),
        ("Denver", "CO"),
        ("Madison", "WI"),
        ("Raleigh", "NC"),
    ],
    "DE": [
        ("München", "BY"),
        ("Köln", "NW"),
        ("Hamburg", "HH"),
        ("Berlin", "BE"),
        ("Stuttgart", "BW"),
        ("Leipzig", "SN"),
        ("Düsseldorf", "NW"),
        ("Nürnberg", "BY"),
    ],
    "FR": [
        ("Paris", "idf"),
        ("Lille", "nord"),
        ("Versailles", "idf"),
        ("Roubaix", "nord"),
        ("Lyon", "sudest"),
        ("Marseille", "sudest"),
        ("Nantes", "ouest"),
        ("Bordeaux", "sudouest"),
    ],
    "GB": [
        ("Manchester", "England"),
        ("Glasgow", "Scotland"),
        ("Cardiff", "Wales"),
        ("Leeds", "England"),
        ("Belfast", "Northern Ireland"),
        ("Edinburgh", "Scotland"),
        ("Bristol", "England"),
        ("Swansea", "Wales"),
    ],
    "JP": [
        ("Shinjuku", "Tokyo"),
        ("Umeda", "Osaka"),
        ("Sakae", "Aichi"),
        ("Hakata", "Fukuoka"),
        ("Sapporo", "Hokkaido"),
        ("Yokohama", "Kanagawa"),
        ("Kobe", "Hyogo"),
        ("Kyoto", "Kyoto"),
    ],
    "AR": [
        ("Palermo", "CABA"),
        ("La Plata", "Buenos Aires"),
        ("Córdoba", "Córdoba"),
        ("Rosario", "Santa Fe"),
        ("Mendoza", "Mendoza"),
        ("San Miguel de Tucumán", "Tucumán"),
        ("Salta", "Salta"),
        ("Neuquén", "Neuquén"),
    ],
    "CA": [
        ("Toronto", "ON"),
        ("Montréal", "QC"),
        ("Vancouver", "BC"),
        ("Calgary", "AB"),
        ("Ottawa", "ON"),
        ("Winnipeg", "MB"),
        ("Halifax", "NS"),
        ("Québec", "QC"),
    ],
    "AU": [
        ("Parramatta", "NSW"),
        ("Richmond", "VIC"),
        ("Fortitude Valley", "QLD"),
        ("Fremantle", "WA"),
        ("Glenelg", "SA"),
        ("Hobart", "TAS"),
        ("Braddon", "ACT"),
        ("Darwin", "NT"),
    ],
    "NO": [
        ("Oslo", "Oslo"),
        ("Bergen", "Vestland"),
        ("Trondheim", "Trøndelag"),
        ("Stavanger", "Rogaland"),
        ("Tromsø", "Troms"),
        ("Bærum", "Akershus"),
        ("Drammen", "Buskerud"),
        ("Kristiansand", "Agder"),
    ],
}
DEFAULT_PLACES = [
    ("Capital", "Central"),
    ("Harbour Town", "Coast"),
    ("Hillview", "North"),
    ("Riverside", "South"),
]
SITE_SUFFIXES = ("Centre", "Mall", "Station", "Park", "Market", "Plaza")
# store format label, corporate channel (site master `corp_channel`)
STORE_FORMATS = (
    ("Hypermarket", "hypermarket"),
    ("Supermarket", "supermarket"),
    ("Express", "convenience"),
    ("Discount", "discount"),
)
CATEGORY_LABELS = {
    "beverages": "Beverages",
    "snacks": "Snacks",
    "dairy": "Dairy",
    "household": "Household",
    "personal_care": "Personal Care",
    "frozen": "Frozen",
}
# item, corporate category, price in US dollars; names stay within Latin-1 (some retailers use it)
ITEMS = (
    ("Sparkling Water 1L", "beverages", 0.89),
    ("Orange Juice 1L", "beverages", 2.49),
    ("Cola Zero 6x330ml", "beverages", 4.99),
    ("Iced Tea Peach 1.5L", "beverages", 1.79),
    ("Potato Chips Paprika 150g", "snacks", 1.99),
    ("Salted Pretzels 200g", "snacks", 1.49),
    ("Dark Chocolate 70% 100g", "snacks", 2.29),
    ("Crème Fraîche 200g", "dairy", 1.29),
    ("Greek Yoghurt 500g", "dairy", 2.19),
    ("Gouda Slices 150g", "dairy", 2.59),
    ("Whole Milk 1L", "dairy", 1.09),
    ("Laundry Liquid 1.5L", "household", 6.99),
    ("Dish Soap Lemon 500ml", "household", 1.89),
    ("Paper Towels 4 Rolls", "household", 3.49),
    ("Shampoo Repair 250ml", "personal_care", 3.99),
    ("Toothpaste Mint 75ml", "personal_care", 1.79),
    ("Shower Gel Açaí 250ml", "personal_care", 2.49),
    ("Frozen Pizza Margherita", "frozen", 3.29),
    ("Vanilla Ice Cream 900ml", "frozen", 4.49),
    ("Frozen Peas 750g", "frozen", 1.99),
    ("Café Crème Beans 500g", "beverages", 6.49),
    ("Müsli Crunchy 750g", "snacks", 3.79),
    ("Smørbrød Crackers 200g", "snacks", 2.09),
)
BRANDS = ("Aurora", "Bellavista", "Nordlys", "Sunhill", "Kiwano", "Polaris", "Maple & Co", "Lindqvist")
UNMATCHED_PRODUCT_EVERY = 10
"""Every 10th product (index 9, 19, …) is missing from the corporate product master."""
UNMATCHED_SITE_EVERY = 4
"""Every 4th store of each retailer (index 3, 7, …) is missing from the corporate site master."""
FRANCHISE_EVERY = 5
"""Every 5th store (index 4, 9, …) is a franchise store that does not send its GLN where that is optional."""


def code_hash(text: str) -> int:
    """A stable 32-bit number for a code (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class CatalogItem:
    """A product the company sells, before any retailer's presentation of it."""

    index: int
    gtin13: str
    description: str
    brand: str
    category: str
    price_usd: float
    popularity: float


def catalog(seed: int, count: int) -> list[CatalogItem]:
    rng = np.random.default_rng([seed, 1])
    popularity = rng.gamma(2.0, 1.5, count)
    items = []
    for index in range(count):
        name, category, price = ITEMS[index % len(ITEMS)]
        brand_index = (index * 3 + index // len(ITEMS)) % len(BRANDS)
        edition = f" ({index // len(ITEMS) + 1})" if index >= len(ITEMS) else ""
        items.append(
            CatalogItem(
                index=index,
                gtin13=gs1_code("0", (10_000 + 137 * brand_index) * 1_000_000 + index),
                description=f"{BRANDS[brand_index]} {name}{edition}",
                brand=BRANDS[brand_index],
                category=category,
                price_usd=round(price * (1 + index // len(ITEMS) * 0.1), 2),
                popularity=float(popularity[index]),
            )
        )
    return items


@dataclass(frozen=True)
class Product:
    index: int
    product_id: str
    gtin: str
    """As the retailer sends it (UPC-12, GTIN-13, a local GTIN, …)."""
    master_gtin: str
    """The 13-digit form under which the corporate product master lists it."""
    description: str
    brand: str
    category: str
    corp_category: str
    price_minor: int
    updated_at: datetime

    def canonical(self) -> dict[str, Any]:
        return {
            "prod_dim.product_id": self.product_id,
            "prod_dim.gtin": self.gtin,
            "prod_dim.description": self.description,
            "prod_dim.brand": self.brand,
            "prod_dim.category": self.category,
            "prod_dim.updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Store:
    index: int
    site_id: str
    gln: str
    sends_gln: bool
    name: str
    city: str
    region: str
    country: str
    store_format: str
    corp_channel: str
    updated_at: datetime

    def canonical(self) -> dict[str, Any]:
        return {
            "site_dim.site_id": self.site_id,
            "site_dim.gln": self.gln if self.sends_gln else None,
            "site_dim.name": self.name,
            "site_dim.city": self.city,
            "site_dim.region": self.region,
            "site_dim.country": self.country,
            "site_dim.store_format": self.store_format,
            "site_dim.updated_at": self.updated_at,
        }


@dataclass
class RetailerTruth:
    """One retailer's products, stores and daily sales/stock over the generated days."""

    spec: RetailerSpec
    products: list[Product]
    stores: list[Store]
    minor_digits: int
    units: dict[date, np.ndarray] = field(repr=False)
    on_hand: dict[date, np.ndarray] = field(repr=False)

    def money(self, minor: int) -> Decimal:
        return Decimal(minor).scaleb(-self.minor_digits)

    def product_rows(self) -> list[dict[str, Any]]:
        return [product.canonical() for product in self.products]

    def site_rows(self) -> list[dict[str, Any]]:
        return [store.canonical() for store in self.stores]

    def fact_rows(
        self, grain: str, days: tuple[date, ...], stores: list[Store], week_end: date, updated_at: datetime
    ) -> list[dict[str, Any]]:
        """Canonical rows of a fact delivery: one per day (daily) or one per week (weekly), store and
        product, each carrying the product and site attributes (one-big-table files show them)."""
        fact = "daily_store_fact" if grain == "daily" else "weekly_store_fact"
        groups = [(day, (day,)) for day in days] if grain == "daily" else [(week_end, days)]
        rows = []
        for period_date, group in groups:
            for store in stores:
                for product in self.products:
                    units = sum(int(self.units[day][store.index, product.index]) for day in group)
                    on_hand = int(self.on_hand[group[-1]][store.index, product.index])
                    rows.append(
                        {
                            **store.canonical(),
                            **product.canonical(),
                            f"{fact}.{'sale_date' if grain == 'daily' else 'week_end_date'}": period_date,
                            f"{fact}.site_id": store.site_id,
                            f"{fact}.product_id": product.product_id,
                            f"{fact}.units_sold": units,
                            f"{fact}.net_sales": self.money(units * product.price_minor),
                            f"{fact}.currency": self.spec.currency,
                            f"{fact}.on_hand_units": on_hand,
                            f"{fact}.updated_at": updated_at,
                            "unit_price": self.money(product.price_minor),
                        }
                    )
        return rows


def build_truth(
    spec: RetailerSpec, items: list[CatalogItem], *, seed: int, stores: int, days: list[date]
) -> RetailerTruth:
    retailer = code_hash(spec.code)
    rng = np.random.default_rng([seed, 2, retailer])
    fx, digits = CURRENCIES.get(spec.currency, (1.0, 2))
    first = days[0]
    products = [_product(spec, item, retailer, fx, digits, first) for item in items]
    store_list = [_store(spec, index, retailer, first) for index in range(stores)]
    sizes = rng.uniform(0.6, 1.8, stores)
    demand = np.outer(sizes, [item.popularity for item in items])
    stock = rng.integers(20, 120, (stores, len(items)))
    units, on_hand = {}, {}
    for day in days:
        daily = np.random.default_rng([seed, 3, retailer, day.toordinal()])
        sold = daily.poisson(demand * (1.3 if day.weekday() >= 5 else 1.0)).astype(np.int64)
        stock = np.maximum(stock - sold, 0)
        stock = stock + (stock < 15) * 80
        units[day], on_hand[day] = sold, stock
    return RetailerTruth(spec, products, store_list, digits, units, on_hand)


def _product(
    spec: RetailerSpec, item: CatalogItem, retailer: int, fx: float, digits: int, first: date
) -> Product:
    gtin = _gtin(spec, item, retailer)
    if spec.product_id_is_gtin:
        product_id = gtin
    else:
        pattern, _ = spec.column_pattern("product_id")
        product_id = _numbered(
            pattern, (1001 + item.index, 1 + item.index), 100_000 + retailer % 800_000 + item.index * 7
        )
    category_values = spec.valid_values("category")
    categories = list(CATEGORY_LABELS)
    category = (
        str(category_values[categories.index(item.category) % len(category_values)])
        if category_values
        else CATEGORY_LABELS[item.category]
    )
    return Product(
        index=item.index,
        product_id=product_id,
        gtin=gtin,
        master_gtin=gtin.zfill(14)[1:],
        description=item.description,
        brand=item.brand,
        category=category,
        corp_category=item.category,
        price_minor=round(item.price_usd * fx * 10**digits),
        updated_at=datetime.combine(first - timedelta(days=20 + item.index % 10), time(3, 15)),
    )


def _gtin(spec: RetailerSpec, item: CatalogItem, retailer: int) -> str:
    """The item's GTIN as this retailer sends it: the global GTIN in the form its column accepts,
    else a local GTIN with the country's GS1 prefix (locally made variants), else one made to fit."""
    pattern, physical = spec.column_pattern("gtin")
    forms = [item.gtin13, item.gtin13[1:], "0" + item.gtin13]
    length = _declared_length(physical)
    for form in forms:
        if (pattern and re.fullmatch(pattern, form)) or (
            not pattern and (length is None or len(form) == length)
        ):
            return form
    local = gs1_code(GS1_PREFIXES.get(spec.country, "2"), _company_number(spec, retailer, item.index))
    if pattern and not re.fullmatch(pattern, local):
        return _fit_gs1(pattern, item.index)
    return local


def _store(spec: RetailerSpec, index: int, retailer: int, first: date) -> Store:
    places = PLACES.get(spec.country, DEFAULT_PLACES)
    city, region = places[index % len(places)]
    if index >= len(places):
        city = f"{city} {index // len(places) + 1}"
    regions = spec.valid_values("region")
    if regions and region not in regions:
        region = str(regions[index % len(regions)])
    format_index = index % len(STORE_FORMATS)
    format_values = spec.valid_values("store_format")
    label, channel = STORE_FORMATS[format_index]
    pattern, _ = spec.column_pattern("site_id")
    gln_pattern, _ = spec.column_pattern("gln")
    gln = gs1_code(GS1_PREFIXES.get(spec.country, "2"), _company_number(spec, retailer, index, location=True))
    if gln_pattern and not re.fullmatch(gln_pattern, gln):
        gln = _fit_gs1(gln_pattern, index)
    return Store(
        index=index,
        site_id=_numbered(pattern, (101 + index, 1 + index), 1000 + retailer % 900 + index),
        gln=gln,
        sends_gln=spec.requires("gln") or index % FRANCHISE_EVERY != FRANCHISE_EVERY - 1,
        name=f"{city} {SITE_SUFFIXES[index % len(SITE_SUFFIXES)]}",
        city=city,
        region=region,
        country=spec.country,
        store_format=str(format_values[format_index % len(format_values)]) if format_values else label,
        corp_channel=channel,
        updated_at=datetime.combine(first - timedelta(days=30 + index), time(2, 0)),
    )


def _company_number(spec: RetailerSpec, retailer: int, index: int, *, location: bool = False) -> int:
    """The digits after the GS1 prefix: a 4-digit company number of the retailer, then the item or
    location reference (locations in the upper half, so a store's GLN never equals a local GTIN)."""
    reference_digits = 12 - len(GS1_PREFIXES.get(spec.country, "2")) - 4
    first_reference = 5 * 10 ** (reference_digits - 1) if location else 0
    return (1000 + retailer % 9000) * 10**reference_digits + first_reference + index


def _numbered(pattern: str | None, numbers: tuple[int, int], plain: int) -> str:
    """An id: a value of the column's pattern numbered by the first of `numbers` that fits it, or
    `plain` when the column has no pattern."""
    if not pattern:
        return str(plain)
    try:
        return sequence_from_pattern(pattern, numbers[0])
    except ValueError:
        try:
            return sequence_from_pattern(pattern, numbers[1])
        except ValueError:
            raise ValueError(
                f"too many ids for the pattern {pattern}: use fewer stores or products"
            ) from None


def _fit_gs1(pattern: str, number: int) -> str:
    """A pattern-conforming code whose last digit is a valid GS1 check digit, when the pattern allows."""
    code = sequence_from_pattern(pattern, number)
    fixed = code[:-1] + gs1_check_digit(code[:-1]) if code.isdigit() else code
    return fixed if re.fullmatch(pattern, fixed) else code


def _declared_length(physical_type: str) -> int | None:
    match = re.search(r"\((\d+)\)", physical_type)
    return int(match.group(1)) if match else None
