"""A local stand-in for the ENTSO-E Transparency Platform's REST API, for the real entsoe-py client.

It answers `documentType=A44` (day-ahead prices) queries with a `Publication_MarketDocument` in the
platform's published format (one TimeSeries per delivery day, hourly points, curve type A01, as the
platform published 2024), carrying the real 2024 Netherlands prices of
tests/data/entsoe_nl_day_ahead_2024-05-10_13.csv; outside that slice, and for paging requests
(offset > 0), the platform's "No matching data found" acknowledgement. A wrong token gets 401.

`mode` makes it fail as the real one does: "error" answers 500, "hang" answers after `hang_s`, and
`fail_first` turns the first N requests into 500s.
"""

from __future__ import annotations

import csv
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DATA = Path(__file__).resolve().parent.parent / "data" / "entsoe_nl_day_ahead_2024-05-10_13.csv"
NL = "10YNL----------L"
TOKEN = "test-token-5c1f"


def load_prices(path: Path = DATA) -> dict[datetime, float]:
    """{hour start (UTC): EUR/MWh} from the copied slice."""
    with path.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {datetime.fromisoformat(r["utc"].replace("Z", "+00:00")): float(r["eur_per_mwh"]) for r in rows}


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


def publication_document(prices: dict[datetime, float], start: datetime, end: datetime) -> str | None:
    """The day-ahead Publication_MarketDocument for [start, end), one TimeSeries per delivery day
    (the day runs 22:00Z-22:00Z in summer); None when the slice has no price in the window."""
    hours = sorted(t for t in prices if start <= t < end)
    if not hours:
        return None
    days: dict[datetime, list[datetime]] = {}
    for t in hours:
        day_start = t - timedelta(hours=(t.hour - 22) % 24, minutes=t.minute)  # CEST delivery day
        days.setdefault(day_start, []).append(t)
    series = []
    for k, (day_start, day_hours) in enumerate(sorted(days.items()), 1):
        points = "".join(
            f"\n        <Point>\n          <position>{int((t - day_start) / timedelta(hours=1)) + 1}</position>\n"
            f"          <price.amount>{prices[t]:g}</price.amount>\n        </Point>"
            for t in day_hours
        )
        series.append(f"""
  <TimeSeries>
    <mRID>{k}</mRID>
    <auction.type>A01</auction.type>
    <businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">{NL}</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">{NL}</out_Domain.mRID>
    <contract_MarketAgreement.type>A01</contract_MarketAgreement.type>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A01</curveType>
    <Period>
      <timeInterval>
        <start>{_iso(day_start)}</start>
        <end>{_iso(day_start + timedelta(days=1))}</end>
      </timeInterval>
      <resolution>PT60M</resolution>{points}
    </Period>
  </TimeSeries>""")
    first, last = min(days), max(days) + timedelta(days=1)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>5f3f3b7a0c2b4c8e9d1a2b3c4d5e6f70</mRID>
  <revisionNumber>1</revisionNumber>
  <type>A44</type>
  <sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</sender_MarketParticipant.mRID>
  <sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>
  <receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</receiver_MarketParticipant.mRID>
  <receiver_MarketParticipant.marketRole.type>A33</receiver_MarketParticipant.marketRole.type>
  <createdDateTime>{datetime(2024, 5, 12, 11, 0, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}</createdDateTime>
  <period.timeInterval>
    <start>{_iso(first)}</start>
    <end>{_iso(last)}</end>
  </period.timeInterval>{"".join(series)}
</Publication_MarketDocument>"""


def acknowledgement(code: str, text: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Acknowledgement_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0">
  <mRID>0f1e2d3c4b5a69788796a5b4c3d2e1f0</mRID>
  <createdDateTime>2024-05-12T11:00:00Z</createdDateTime>
  <sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</sender_MarketParticipant.mRID>
  <sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>
  <receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001B012</receiver_MarketParticipant.mRID>
  <receiver_MarketParticipant.marketRole.type>A39</receiver_MarketParticipant.marketRole.type>
  <received_MarketDocument.createdDateTime>2024-05-12T11:00:00Z</received_MarketDocument.createdDateTime>
  <Reason>
    <code>{code}</code>
    <text>{text}</text>
  </Reason>
</Acknowledgement_MarketDocument>"""


class EntsoeStandIn:
    """The server on 127.0.0.1 and a free port; `url` is what V2G_ENTSOE_URL points at."""

    def __init__(self, *, mode: str = "ok", fail_first: int = 0, hang_s: float = 2.0):
        self.mode, self.fail_first, self.hang_s = mode, fail_first, hang_s
        self.prices = load_prices()
        self.requests: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                stand_in.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api"

    def __enter__(self) -> EntsoeStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _send(self, handler, status: int, body: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml")  # exactly this: entsoe-py compares it
        handler.end_headers()
        handler.wfile.write(body.encode())

    def handle(self, handler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(handler.path).query).items()}
        self.requests.append(query)
        if self.mode == "hang":
            time.sleep(self.hang_s)
        if self.mode == "error" or len(self.requests) <= self.fail_first:
            handler.send_response(500)
            handler.end_headers()
            handler.wfile.write(b"Internal Server Error")
            return
        if query.get("securityToken") != TOKEN:
            self._send(handler, 401, acknowledgement("999", "Unauthorized. Missing or invalid security token"))
            return
        if query.get("documentType") != "A44" or query.get("in_Domain") != NL or query.get("out_Domain") != NL:
            self._send(handler, 400, acknowledgement("999", "check you request against dependency tables"))
            return
        start, end = (
            datetime.strptime(query[k], "%Y%m%d%H%M").replace(tzinfo=UTC) for k in ("periodStart", "periodEnd")
        )
        body = publication_document(self.prices, start, end) if query.get("offset", "0") == "0" else None
        self._send(
            handler, 200, body or acknowledgement("999", "No matching data found for Data item Day-ahead Prices")
        )
