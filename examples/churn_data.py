"""A realistic synthetic customer-churn table (no download needed).

Customers have tenure, charges, contract type, payment method, support calls and usage;
churn follows a logistic model of those with interactions and noise, so models of
different capacity score differently. ``drift`` (0 to 1; ``drifted=True`` is 1) moves the
population a few months on: prices went up, month-to-month contracts grew, usage shifted
(data drift) — and customers became more sensitive to price and support problems, so a
model trained before decays (concept drift).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEATURES", "TARGET", "make_churn"]

TARGET = "churned"
FEATURES = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "data_usage_gb",
    "num_products",
    "age",
    "contract",
    "payment_method",
    "region",
]


def make_churn(
    n_rows: int = 20_000, *, seed: int = 0, drifted: bool = False, drift: float | None = None
) -> pd.DataFrame:
    """``n_rows`` customers with a ``churned`` label (about a quarter churn before drift)."""
    d = float(drift if drift is not None else (1.0 if drifted else 0.0))
    if not 0.0 <= d <= 1.0:
        raise ValueError(f"drift must be between 0 and 1, got {d}")
    rng = np.random.default_rng(seed)
    contract_p = [0.45 + 0.2 * d, 0.30 - 0.1 * d, 0.25 - 0.1 * d]
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n_rows, p=contract_p)
    payment = rng.choice(
        ["card", "bank-transfer", "electronic-check", "mailed-check"],
        n_rows,
        p=[0.3, 0.25, 0.3, 0.15],
    )
    region = rng.choice(["north", "south", "east", "west"], n_rows, p=[0.3, 0.2, 0.25, 0.25])
    tenure = rng.gamma(2.0, 14.0, n_rows).clip(1, 72).round()
    base_price = 55.0 + 8.0 * d
    monthly = (base_price + rng.normal(0, 18, n_rows) + 8 * (contract == "month-to-month")).clip(
        18, 120
    )
    total = monthly * tenure * rng.uniform(0.95, 1.05, n_rows)
    support = rng.poisson(1.2 + 0.4 * d, n_rows)
    usage = rng.lognormal(2.5 + 0.2 * d, 0.6, n_rows)
    products = rng.integers(1, 5, n_rows)
    age = rng.normal(45, 14, n_rows).clip(18, 90).round()
    logit = (
        -1.3
        - 0.9 * d
        + 1.6 * (1 - 0.6 * d) * (contract == "month-to-month")
        - 1.1 * (contract == "two-year")
        + 0.55 * (payment == "electronic-check")
        - 0.045 * (1 - 0.5 * d) * tenure
        + 0.028 * (1 + 2.5 * d) * (monthly - 60)
        + 0.38 * (1 + 0.8 * d) * support
        - 0.25 * (products - 1)
        + 0.015 * (age - 45) * (contract == "month-to-month")
        + 0.3 * np.sin(usage / 5)
    )
    churned = rng.random(n_rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "tenure_months": tenure.astype("int64"),
            "monthly_charges": monthly.round(2),
            "total_charges": total.round(2),
            "support_calls": support.astype("int64"),
            "data_usage_gb": usage.round(3),
            "num_products": products.astype("int64"),
            "age": age.astype("int64"),
            "contract": contract,
            "payment_method": payment,
            "region": region,
            TARGET: churned.astype("int64"),
        }
    )
