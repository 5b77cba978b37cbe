"""Overview: the site at a glance — KPIs, site power over the last and next 24 h, the fleet."""

from datetime import timedelta

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components import format as fmt
from components import ids
from components.admin import setup_first
from components.charts import site_power_figure
from components.fleet import fleet_table, site_limits_card
from components.live import kpi_card, poller, register_visibility_gate
from components.vehicles import departure_result
from core import auth, telemetry
from core.admin import web as admin_web
from core.clock import now
from core.config import get_settings

dash.register_page(__name__, path="/", name="Overview", order=0)
register_visibility_gate(ids.OVERVIEW_INTERVAL, ids.OVERVIEW_TICK)
register_visibility_gate(ids.OVERVIEW_COST_INTERVAL, ids.OVERVIEW_COST_TICK)
COST_INTERVAL_S = 60


def layout(**_query):
    try:
        snap, history = snapshot()
    except telemetry.NoSiteError:  # a fresh install (V2G_DEMO=0): say what to set up first
        return html.Div([html.H2("Overview", id=ids.OVERVIEW_TITLE),
                         setup_first(admin_web.setup_steps(), is_admin=auth.current_role() == "admin")])
    site = snap.site
    rows = telemetry.fleet(site.id)
    chargers = {r.charger_id for r in rows if r.charger_id}
    return html.Div(
        [
            poller(ids.OVERVIEW_INTERVAL, ids.OVERVIEW_TICK, get_settings().poll_interval_s),
            # Cost and savings change slowly and cost more to compute: a minute is fresh enough.
            poller(ids.OVERVIEW_COST_INTERVAL, ids.OVERVIEW_COST_TICK, COST_INTERVAL_S),
            html.H2(site.name, id=ids.OVERVIEW_TITLE),
            html.Div(kpi_row(snap), id=ids.OVERVIEW_KPIS, className="mb-2"),
            dbc.Row(dbc.Col(html.Div(cost_card(site), id=ids.OVERVIEW_COST), xs=12, lg=6), className="mb-3"),
            dcc.Graph(id=ids.OVERVIEW_GRAPH, figure=site_figure(snap, history), config={"displaylogo": False}),
            html.Div(
                site_limits_card(site, len(rows), len(chargers), telemetry.fleet_max_charge_kw(site.id)),
                id=ids.OVERVIEW_LIMITS,
            ),
            html.H4("Fleet"),
            fleet_table(rows, ids.OVERVIEW_FLEET_TABLE),
        ]
    )


def snapshot():
    """The site snapshot and the last 24 h of site power, read once for the cards and the chart."""
    site = telemetry.site_info()
    at = now()
    history = telemetry.site_history_frame(site.id, since=at - timedelta(hours=24), until=at, bucket_minutes=5)
    return telemetry.site_snapshot(site.id), history


def kpi_row(snap):
    site = snap.site
    net = snap.net_import_kw
    over = net.value is not None and net.value > site.import_limit_kw
    events = ", ".join(f"{e['kind'].replace('_', ' ')} {e['kw']:.0f} kW" for e in snap.active_events) or "none"
    cards = [
        kpi_card("Net import now", fmt.kw(net.value), detail=f"limit {fmt.kw(site.import_limit_kw)}" + (" — OVER LIMIT" if over else ""),
                 stale=net.stale, age_s=net.age_s, card_id=ids.OVERVIEW_NET_IMPORT, tone="border-danger" if over else ""),
        kpi_card("EV charging", fmt.kw(snap.ev_charge_kw.value), stale=snap.ev_charge_kw.stale, age_s=snap.ev_charge_kw.age_s),
        kpi_card("V2G export", fmt.kw(snap.ev_discharge_kw.value), stale=snap.ev_discharge_kw.stale, age_s=snap.ev_discharge_kw.age_s),
        kpi_card("Fleet average SoC", fmt.soc(snap.fleet_avg_soc), detail=f"{snap.plugged} plugged in"),
        kpi_card("Departures ahead", f"✔ {snap.on_track} on track · ✖ {snap.at_risk} at risk", card_id=ids.OVERVIEW_AT_RISK,
                 detail="forecast of the plugged-in vehicles", tone="border-danger" if snap.at_risk else ""),
        departed_card(snap.departed_today),
        kpi_card("Price now", f"{fmt.price(snap.import_price, site.currency)} in", detail=f"{fmt.price(snap.export_price, site.currency)} out"),
        kpi_card("Grid events", str(len(snap.active_events)), detail=events),
    ]
    row = dbc.Row([dbc.Col(c, xs=12, sm=6, lg=3, className="mb-2") for c in cards])
    note = snap.site_meter_note  # the site meter is stale: say so, and that the plan assumes the worst
    return [dbc.Alert(note, color="warning", id=ids.OVERVIEW_SITE_METER_NOTE, className="py-2 mb-2"), row] if note else row


def departed_card(departed):
    """Today's departures: how many left with their target, and the ones that left short, by how much."""
    short = [d for d in departed if not d.met]
    detail = ", ".join(f"{d.name} {departure_result(d.met, d.short_kwh).removeprefix('✖ short ')}" for d in short[:4])
    if len(short) > 4:
        detail += f" and {len(short) - 4} more"
    return kpi_card("Left today", f"✔ {len(departed) - len(short)} met · ✖ {len(short)} short", card_id=ids.OVERVIEW_DEPARTED,
                    detail=detail or ("no departure yet today" if not departed else "every vehicle left with its target"),
                    tone="border-warning" if short else "")


def cost_card(site):
    cost, saving = telemetry.today_cost_and_savings(site.id)
    return kpi_card(
        "Cost today", fmt.money(cost, site.currency),
        detail="—" if saving is None else (
            f"saved {fmt.money(saving, site.currency)} against uncontrolled charging" if saving >= 0
            else f"{fmt.money(-saving, site.currency)} more than uncontrolled charging"
        ),
    )


def site_figure(snap, history):
    site = snap.site
    at = now()
    plan = telemetry.plan_site_frame(snap.plan)
    prices = telemetry.price_frame(site.id, since=at - timedelta(hours=24), until=at + timedelta(hours=24))
    return site_power_figure(history, plan, prices, import_limit_kw=site.import_limit_kw, timezone=site.timezone,
                             currency=site.currency, now_local=site.local_time)


@callback(
    Output(ids.OVERVIEW_KPIS, "children"),
    Output(ids.OVERVIEW_GRAPH, "figure"),
    Input(ids.OVERVIEW_TICK, "data"),
    prevent_initial_call=True,
)
def refresh(_tick):
    snap, history = snapshot()
    return kpi_row(snap), site_figure(snap, history)


@callback(Output(ids.OVERVIEW_COST, "children"), Input(ids.OVERVIEW_COST_TICK, "data"), prevent_initial_call=True)
def refresh_cost(_tick):
    return cost_card(telemetry.site_info())
