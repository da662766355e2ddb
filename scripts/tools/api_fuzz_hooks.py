"""Schemathesis hooks of the REST API drill (scripts/tools/api_fuzz.py loads them).

1. Every case comes from its own client address (`X-Forwarded-For: 127.a.b.c`; the
   drill's server trusts 127.0.0.1 as its proxy), as every guest has their own: the
   per-client rate limits of the guest routes would otherwise answer nearly every case
   429 and the fuzzer would test nothing behind them.

2. A positive case (one the document allows) is kept within the rules that the
   document states in words but JSON Schema cannot express, because they compare two
   values or a value with the stored state or the clock:

     - an event's `rsvp_deadline` is not after its `event_date` (POST and PATCH);
     - a link's `expires_at` is in the future;
     - an answer's `plus_ones` is at most the guest's own limit (`guest.max_plus_ones`
       of `GET /api/v1/access/{token}`), unless the answer is `declined`;
     - invitations are sent to `guest_ids` of the event's own guests.

   Only those values are moved (a deadline to the event's start, a past expiry to 2099,
   plus-ones down to the limit, unknown guests dropped); the checks stay as they are.
   Negative cases are left alone.

3. Every other positive case of the guest's side (`/access/{token}`, its signals,
   `/rsvp/{token}`) uses the link the drill seeded (`GG_API_FUZZ_TOKEN`): a token the
   fuzzer makes up is never one the server signed (404), and the stateful phase rarely
   gets four links deep (event, guest, link, then the guest's side) in its budget.
"""

import itertools
import os
import re
import time

import requests
import schemathesis

BASE = os.environ.get("GG_API_FUZZ_URL", "")
AUTHORIZATION = os.environ.get("GG_API_FUZZ_AUTHORIZATION", "")
TOKEN = os.environ.get("GG_API_FUZZ_TOKEN", "")
GUEST_SIDE = {"/api/v1/access/{token}", "/api/v1/access/{token}/signals", "/api/v1/rsvp/{token}"}
_clients = itertools.count(1)
_guest_cases = itertools.count()
_INSTANT = re.compile(
    r"(-?\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))"
)


def _client() -> str:
    n = next(_clients)
    return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{(n & 255) or 1}"


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (year 0 included)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _instant(value):
    """Whole seconds since the epoch of an RFC 3339 string, or None."""
    if not isinstance(value, str):
        return None
    match = _INSTANT.fullmatch(value)
    if not match:
        return None
    y, mo, d, h, mi, s, sign, oh, om = match.groups()
    seconds = _days_from_civil(int(y), int(mo), int(d)) * 86400 + int(h) * 3600 + int(mi) * 60 + int(s)
    if sign:
        offset = int(oh) * 3600 + int(om) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds


def _later(a, b) -> bool:
    """Whether instant string `a` may be after instant string `b` (within the same
    second, two different strings count as later: a fraction may make it so)."""
    ia, ib = _instant(a), _instant(b)
    if ia is None or ib is None:
        return False
    return ia > ib or (ia == ib and a != b)


def _get(path: str, authorized: bool):
    headers = {"X-Forwarded-For": _client()}
    if authorized:
        headers["Authorization"] = AUTHORIZATION
    try:
        reply = requests.get(BASE + path, headers=headers, timeout=10)
    except requests.RequestException:
        return None
    return reply.json() if reply.status_code == 200 else None


def _positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is None or meta.generation.mode.is_positive


def _keep_to_the_rules(case) -> None:
    body = case.body
    method, path = case.method.upper(), case.operation.path
    params = case.path_parameters or {}
    if path == "/api/v1/events" and method == "POST" and isinstance(body, dict):
        if _later(body.get("rsvp_deadline"), body.get("event_date")):
            body["rsvp_deadline"] = body["event_date"]
    elif path == "/api/v1/events/{id}" and method == "PATCH" and isinstance(body, dict):
        if not ("rsvp_deadline" in body or "event_date" in body):
            return
        stored = _get(f"/api/v1/events/{params.get('id')}", authorized=True)
        if stored is None:
            return
        start = body.get("event_date") or stored["event_date"]
        deadline = body["rsvp_deadline"] if "rsvp_deadline" in body else stored["rsvp_deadline"]
        if _later(deadline, start):
            if isinstance(body.get("rsvp_deadline"), str):
                body["rsvp_deadline"] = start
            else:
                body["event_date"] = deadline
    elif path.endswith("/tokens") and method == "POST" and isinstance(body, dict):
        at = _instant(body.get("expires_at"))
        if at is not None and at <= time.time() + 3600:
            body["expires_at"] = "2099-01-01T00:00:00Z"
    elif path == "/api/v1/rsvp/{token}" and method == "POST" and isinstance(body, dict):
        plus_ones = body.get("plus_ones", 0)
        # JSON Schema counts 4.0 as the integer 4, and so does the server.
        if isinstance(plus_ones, bool) or not isinstance(plus_ones, (int, float)) or plus_ones <= 0:
            return
        if isinstance(body.get("response"), str) and body["response"].strip() == "declined":
            return
        opened = _get(f"/api/v1/access/{params.get('token')}", authorized=False)
        if opened is not None and plus_ones > opened["guest"]["max_plus_ones"]:
            body["plus_ones"] = opened["guest"]["max_plus_ones"]
    elif path == "/api/v1/events/{id}/invitations/send" and method == "POST" and isinstance(body, dict):
        wanted = body.get("guest_ids")
        if not isinstance(wanted, list) or not wanted:
            return
        listed = _get(f"/api/v1/events/{params.get('id')}/guests", authorized=True)
        if listed is not None:
            known = {guest["id"] for guest in listed["guests"]}
            body["guest_ids"] = [guest for guest in wanted if guest in known]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.headers is None:
        case.headers = {}
    case.headers["X-Forwarded-For"] = _client()
    if _positive(case):
        if TOKEN and case.operation.path in GUEST_SIDE and next(_guest_cases) % 2 == 0:
            case.path_parameters = {**(case.path_parameters or {}), "token": TOKEN}
        _keep_to_the_rules(case)
