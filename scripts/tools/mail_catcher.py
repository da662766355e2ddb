#!/usr/bin/env python3
"""GuestGuard's development mail catcher: a real SMTP server (aiosmtpd) that keeps every
message it receives as an .eml file, and a small web page to read them.

    mail_catcher.py --smtp 127.0.0.1:2525 --http 127.0.0.1:8025 --dir .data/mail

  http://<http>/                  the messages, newest first (subject, recipients, date)
  http://<http>/messages/<id>     one message: headers, text part, HTML part (sandboxed)
  http://<http>/api/messages      every message as JSON (tests read this), oldest first
  http://<http>/api/messages/<id>.eml   the raw message

`scripts/dev.sh` starts it for the local stack; the Rust and Playwright tests start their
own on free ports. Messages survive a restart (same --dir). It never relays anything.
"""

import argparse
import email
import email.policy
import html
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


def host_port(value):
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


class Store:
    """The folder of .eml files, named by arrival order."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def ids(self):
        return sorted(int(p.stem) for p in self.folder.glob("*.eml") if p.stem.isdigit())

    def add(self, raw, mail_from, rcpt_tos):
        with self.lock:
            ids = self.ids()
            next_id = (ids[-1] + 1) if ids else 1
            envelope = (
                f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
            ).encode()
            path = self.folder / f"{next_id:06d}.eml"
            tmp = path.with_suffix(".partial")
            tmp.write_bytes(envelope + raw)
            os.replace(tmp, path)
            return next_id

    def raw(self, message_id):
        path = self.folder / f"{int(message_id):06d}.eml"
        return path.read_bytes() if path.exists() else None

    def parsed(self, message_id):
        raw = self.raw(message_id)
        if raw is None:
            return None
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        return {
            "id": int(message_id),
            "envelope_from": message.get("X-Envelope-From", ""),
            "envelope_to": [a.strip() for a in message.get("X-Envelope-To", "").split(",") if a.strip()],
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "date": str(message.get("Date", "")),
            "message_id": str(message.get("Message-ID", "")),
            "content_type": message.get_content_type(),
            "headers": {name: str(value) for name, value in message.items()},
            "text": text.get_content() if text is not None else None,
            "html": html_part.get_content() if html_part is not None else None,
        }


class Handler:
    """aiosmtpd handler: accept every recipient, keep every message."""

    def __init__(self, store):
        self.store = store

    async def handle_DATA(self, server, session, envelope):
        message_id = self.store.add(envelope.original_content or envelope.content,
                                    envelope.mail_from, envelope.rcpt_tos)
        print(f"mail-catcher: message {message_id} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return f"250 Message accepted as {message_id}"


def web(store):
    class Web(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, status, body, content_type, extra=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/api/messages":
                messages = [store.parsed(i) for i in store.ids()]
                return self.send(200, json.dumps(messages), "application/json")
            if path.startswith("/api/messages/") and path.endswith(".eml"):
                raw = store.raw(path[len("/api/messages/"):-4]) if path[14:-4].isdigit() else None
                if raw is None:
                    return self.send(404, "no such message", "text/plain")
                return self.send(200, raw, "message/rfc822")
            if path.startswith("/messages/") and path.endswith("/html"):
                number = path[len("/messages/"):-len("/html")]
                message = store.parsed(number) if number.isdigit() else None
                if message is None or message["html"] is None:
                    return self.send(404, "no HTML part", "text/plain")
                # The message's own HTML, in a sandbox: no scripts, no same-origin access.
                return self.send(200, message["html"], "text/html; charset=utf-8",
                                 {"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"})
            if path.startswith("/messages/"):
                number = path[len("/messages/"):]
                message = store.parsed(number) if number.isdigit() else None
                if message is None:
                    return self.send(404, "no such message", "text/plain")
                headers = "".join(
                    f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in message["headers"].items())
                body = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(message['subject'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}th{{text-align:left;padding-right:1rem;vertical-align:top}}pre{{white-space:pre-wrap;background:#f3f4f6;padding:1rem}}iframe{{width:100%;height:40rem;border:1px solid #d1d5db}}</style></head>
<body><p><a href="/">All messages</a> · <a href="/api/messages/{message['id']}.eml">Raw</a></p>
<h1>{html.escape(message['subject'])}</h1><table>{headers}</table>
<h2>Plain text</h2><pre>{html.escape(message['text'] or '(none)')}</pre>
<h2>HTML</h2><iframe sandbox src="/messages/{message['id']}/html" title="HTML part"></iframe></body></html>"""
                return self.send(200, body, "text/html; charset=utf-8")
            if path == "/":
                rows = "".join(
                    f"<tr><td><a href=\"/messages/{m['id']}\">{html.escape(m['subject'] or '(no subject)')}</a></td>"
                    f"<td>{html.escape(', '.join(m['envelope_to']))}</td><td>{html.escape(m['date'])}</td></tr>"
                    for m in reversed([store.parsed(i) for i in store.ids()]))
                body = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>GuestGuard mail catcher</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}td,th{{padding:.25rem 1rem .25rem 0;text-align:left}}</style></head>
<body><h1>Messages GuestGuard sent</h1><p>Nothing here leaves this machine.</p>
<table><thead><tr><th>Subject</th><th>To</th><th>Date</th></tr></thead><tbody>{rows or '<tr><td colspan="3">No messages yet.</td></tr>'}</tbody></table></body></html>"""
                return self.send(200, body, "text/html; charset=utf-8")
            return self.send(404, "not found", "text/plain")

    return Web


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smtp", type=host_port, default=("127.0.0.1", 2525))
    parser.add_argument("--http", type=host_port, default=("127.0.0.1", 8025))
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()

    store = Store(args.dir)
    controller = Controller(Handler(store), hostname=args.smtp[0], port=args.smtp[1],
                            data_size_limit=10 * 1024 * 1024, ready_timeout=10)
    controller.start()
    server = ThreadingHTTPServer(args.http, web(store))
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"mail-catcher: SMTP on {args.smtp[0]}:{args.smtp[1]}, "
          f"messages on http://{args.http[0]}:{args.http[1]}/ (folder {args.dir})", flush=True)
    try:
        server.serve_forever()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
