"""Prices, tariffs and grid events: CSV import, time-of-use rules, operator entries, the event ledger.

The Grid page, the OpenADR VEN, planning, reports and the command line (`python -m core.signals`,
file formats in core/signals/cli.py) share these functions:

- errors.py: SignalError, naming the row and column of a refused file.
- csv_import.py: size and row limits, upload decoding, rows, timestamps, the price file (parse_price_csv).
- prices.py: storing prices (save_prices, import_prices) and the price of each step (price_steps).
- tariffs.py: time-of-use tariffs (parse_tariff, set_tariff, tariff_table).
- grid_events.py: import caps and export requests (validate_signal, parse_signal_csv, add_grid_signal).
- ledger.py: what each event delivered and earned (refresh_ledger, event_summaries).
- view.py: what the Grid page shows (grid_view).
- price_feed.py, day_ahead.py: the day-ahead price feed (ENTSO-E): its settings and the daily fetch.
"""

from core.db import run_in_transaction
from core.signals.cli import main
from core.signals.csv_import import (
    ALLOWED_INTERVALS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    PriceRow,
    cells_iso,
    check_size,
    decode_upload,
    parse_number,
    parse_price_csv,
    parse_timestamp,
    read_rows,
    read_text_file,
    zone,
)
from core.signals.day_ahead import FetchResult, refresh_all, refresh_day_ahead
from core.signals.errors import SignalError
from core.signals.grid_events import (
    MAX_EVENT_LENGTH,
    SIGNAL_KINDS,
    SignalRow,
    add_grid_signal,
    import_signals,
    parse_signal_csv,
    validate_signal,
)
from core.signals.ledger import SETTLE_AFTER, EventSummary, event_summaries, refresh_ledger, summarize
from core.signals.price_feed import EXPORT_MODES, PriceFeedSpec, get_price_feed, set_price_feed, validate_price_feed
from core.signals.prices import (
    FLAT_IMPORT_PRICE,
    LAST_DAY_LOOKBACK_DAYS,
    PriceStep,
    demo_profile,
    fifteen_minute_points,
    import_prices,
    price_steps,
    save_prices,
)
from core.signals.tariffs import DAY_SETS, RuleSpec, TariffSpec, TariffTable, parse_tariff, set_tariff, tariff_table
from core.signals.view import grid_view
from core.sites import NoSiteError, default_site_id

__all__ = [
    "ALLOWED_INTERVALS",
    "DAY_SETS",
    "EXPORT_MODES",
    "FetchResult",
    "PriceFeedSpec",
    "get_price_feed",
    "refresh_all",
    "refresh_day_ahead",
    "set_price_feed",
    "validate_price_feed",
    "FLAT_IMPORT_PRICE",
    "LAST_DAY_LOOKBACK_DAYS",
    "MAX_EVENT_LENGTH",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "SETTLE_AFTER",
    "SIGNAL_KINDS",
    "EventSummary",
    "NoSiteError",
    "PriceRow",
    "PriceStep",
    "RuleSpec",
    "SignalError",
    "SignalRow",
    "TariffSpec",
    "TariffTable",
    "add_grid_signal",
    "cells_iso",
    "check_size",
    "decode_upload",
    "default_site_id",
    "demo_profile",
    "event_summaries",
    "fifteen_minute_points",
    "grid_view",
    "import_prices",
    "import_signals",
    "main",
    "parse_number",
    "parse_price_csv",
    "parse_signal_csv",
    "parse_tariff",
    "parse_timestamp",
    "price_steps",
    "read_rows",
    "read_text_file",
    "refresh_ledger",
    "run_in_transaction",
    "save_prices",
    "set_tariff",
    "summarize",
    "tariff_table",
    "validate_signal",
    "zone",
]
