"""Stockroom: the tiny library that sample_docs documents.

It lives next to mkdocs.yml, in the project root, which docvalidate puts on ``sys.path``
for every example, so the pages can ``import stockroom``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


class OutOfStock(ValueError):
    """Raised when taking more of an item than the stockroom holds."""


@dataclass
class Item:
    sku: str
    name: str
    price: float
    quantity: int = 0

    @property
    def value(self) -> float:
        return round(self.price * self.quantity, 2)


@dataclass
class Stockroom:
    items: dict[str, Item] = field(default_factory=dict)

    def add(self, item: Item) -> None:
        if item.sku in self.items:
            self.items[item.sku].quantity += item.quantity
        else:
            self.items[item.sku] = item

    def take(self, sku: str, quantity: int) -> Item:
        item = self.items[sku]
        if quantity > item.quantity:
            raise OutOfStock(f"only {item.quantity} of {sku} left, asked for {quantity}")
        item.quantity -= quantity
        return item

    def total_value(self) -> float:
        return round(sum(item.value for item in self.items.values()), 2)

    @classmethod
    def from_csv(cls, path: str | Path) -> Stockroom:
        room = cls()
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                room.add(Item(row["sku"], row["name"], float(row["price"]), int(row["quantity"])))
        return room
