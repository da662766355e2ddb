"""The REST API drill: schemathesis against a running GuestGuard's own OpenAPI document.

Run by scripts/api-fuzz.sh (which starts the stack) in the project's virtualenv:

    api_fuzz.py --url http://127.0.0.1:PORT --report-dir DIR [--max-examples N]

It signs a host up, creates an API key, an event, a guest and the guest's link through
the REST API itself (so the lists the fuzzer reads are not empty), then runs
`schemathesis run` on /api/v1/openapi.json with that key and every check:

  not_a_server_error            no 5xx, ever
  status_code_conformance       every status answered is documented
  content_type_conformance      and with the documented media type
  response_schema_conformance   every body fits its documented schema
  response_headers_conformance  and every documented header
  positive_data_acceptance      a request the document allows is not refused (400, 405,
                                413, 422; 410 for a revoked link counts as an answer,
                                like 404: schemathesis.toml)
  missing_required_header, unsupported_method, allow_header_conformance,
  use_after_free, ensure_resource_availability, ignored_auth

in the examples, coverage, fuzzing and stateful phases. The stateful phase follows the
document's response links: an event created by the fuzzer leads to its guests, a guest
to their links, devices, audit and notifications, a link to the guest's side (opening
it, its signals, the answer) — so the routes under an event are reached with ids that
exist. Each case comes from its own client address (X-Forwarded-For, with the server
trusting 127.0.0.1 as its proxy), as guests do, so the per-client rate limits of the
guest routes do not answer every case 429. See api_fuzz_hooks.py for that and for the
rules the document states in words but JSON Schema cannot (a deadline not after the
event, an expiry in the future, plus-ones within the guest's own limit).

Not run: negative_data_rejection (a request the document forbids must be refused). Its
findings are not the server taking bad data but the server being lenient where JSON
Schema is strict — serde reads a struct from an array (`"fraud_policy": [null, null]`
is the default policy), text is trimmed before it is checked — or not findings at all:
a query value of the wrong type that requests drops before sending (the server then
rightly answers the request without it).

Not fuzzed: `GET /api/v1/events/{id}/activity/live`, a WebSocket (an HTTP fuzzer cannot
speak it; its upgrade is tested in server/tests/monitor.rs).

Exits with schemathesis's status: 0 when every check passed.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import requests

WEBSOCKET = "/api/v1/events/{id}/activity/live"
# Guests open their links in browsers: with python-requests' own user agent every answer
# scores as a bot's and is refused, and the fuzzer would never see one accepted.
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def seed(base: str) -> dict:
    """A host with an API key, an event, a guest and the guest's link (opened once), made
    through the REST API; returns the key and ids."""
    session = requests.Session()
    stamp = int(time.time() * 1000)
    origin = {"origin": base}

    def call(method: str, path: str, expect: int, **kwargs) -> dict:
        reply = session.request(method, base + path, timeout=30, **kwargs)
        if reply.status_code != expect:
            sys.exit(f"seeding: {method} {path} answered {reply.status_code}: {reply.text}")
        return reply.json()

    call(
        "POST",
        "/api/v1/auth/signup",
        201,
        json={"email": f"fuzz-{stamp}@example.org", "name": "Fuzz", "password": "correct horse battery"},
    )
    key = call("POST", "/api/v1/api-keys", 201, json={"name": "schemathesis"}, headers=origin)["key"]
    session.cookies.clear()
    bearer = {"authorization": f"Bearer {key}"}
    event = call(
        "POST",
        "/api/v1/events",
        201,
        headers=bearer,
        json={
            "name": "Fuzzed garden party",
            "slug": f"fuzz-{stamp}",
            "event_date": "2031-06-12T18:00:00+02:00",
            "time_zone": "Europe/Berlin",
            "venue": "Orchard",
            "capacity": 80,
        },
    )
    guest = call(
        "POST",
        f"/api/v1/events/{event['id']}/guests",
        201,
        headers=bearer,
        json={"name": "Grace", "email": "grace@example.org", "max_plus_ones": 1},
    )
    link = call("POST", f"/api/v1/events/{event['id']}/guests/{guest['id']}/tokens", 201, headers=bearer)
    call("GET", f"/api/v1/access/{link['token']}", 200, headers={"user-agent": BROWSER})
    return {"key": key, "event": event["id"], "guest": guest["id"], "link": link["id"], "token": link["token"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the running server, e.g. http://127.0.0.1:3000")
    parser.add_argument("--report-dir", required=True)
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("GG_API_FUZZ_EXAMPLES", "50")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("GG_API_FUZZ_SEED", "1")))
    parser.add_argument("--workers", default=os.environ.get("GG_API_FUZZ_WORKERS", "2"))
    args = parser.parse_args()

    base = args.url.rstrip("/")
    seeded = seed(base)
    os.makedirs(args.report_dir, exist_ok=True)
    with open(os.path.join(args.report_dir, "seeded.json"), "w") as out:
        json.dump({k: v for k, v in seeded.items() if k not in ("key", "token")}, out)

    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    here = os.path.dirname(os.path.abspath(__file__))
    command = [
        schemathesis,
        "--config-file",
        os.path.join(here, "schemathesis.toml"),
        "--no-color",
        "run",
        f"{base}/api/v1/openapi.json",
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {seeded['key']}",
        "--header",
        f"User-Agent: {BROWSER}",
        "--checks",
        "all",
        # See the module's doc: what it finds here is serde reading a struct from an
        # array, trimmed text, and query values requests drops before sending.
        "--exclude-checks",
        "negative_data_rejection",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--exclude-path",
        WEBSOCKET,
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "too_slow,filter_too_much",
        "--report",
        "junit,ndjson",
        "--report-dir",
        args.report_dir,
        "--output-sanitize",
        "true",
        "--generation-database",
        "none",
    ]
    # The hooks (api_fuzz_hooks.py, beside this file): a client address per case, and
    # positive cases kept to the rules JSON Schema cannot state.
    env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS="api_fuzz_hooks",
        GG_API_FUZZ_URL=base,
        GG_API_FUZZ_AUTHORIZATION=f"Bearer {seeded['key']}",
        GG_API_FUZZ_TOKEN=seeded["token"],
    )
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the clone
    printable = [("Authorization: Bearer ggk_..." if c.startswith("Authorization:") else c) for c in command]
    print("running:", " ".join(printable), flush=True)
    return subprocess.call(command, env=env, cwd=args.report_dir)


if __name__ == "__main__":
    sys.exit(main())
