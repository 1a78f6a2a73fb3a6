#!/usr/bin/env python3
"""A complete Switchboard chat client in Python (docs/clients.md).

Uses Debian's python3-socketio (5.7) over WebSocket and the standard library
for REST and SSE. Connect with a token, join a room, send and receive
messages, then resume after being offline with SSE and Last-Event-ID,
refetching over REST when the server reports a gap.

Every stored event arrives with an extra last argument, the event id that
Socket.IO's connection state recovery uses: handlers take ``*args``.

Run: python3 switchboard_client.py BASE_URL TOKEN ROOM_ID
Prints one JSON object per line; after ``offline`` it waits for a line on
stdin, then resumes over SSE.
"""
import json
import sys
import threading
import urllib.request
import uuid

import socketio


_out_lock = threading.Lock()


def out(**fields):
    # Socket.IO's handlers run on its own thread: one locked write per line, or two lines can interleave.
    line = json.dumps(fields) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def rest(base, token, path, method="GET", body=None, headers=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"authorization": "Bearer " + token, "content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read() or b"null"), res.headers


def send_message(sio, base, token, room_id, body, client_message_id=None, tries=3):
    """message:send with a clientMessageId, resent with the same id while no ack comes back.

    A resend is answered with the message stored the first time (``replayed: True``), so a lost
    ack never makes a duplicate. When the socket stays down, the same key works as the
    Idempotency-Key header of POST /api/chat/rooms/:id/messages.
    """
    client_message_id = client_message_id or str(uuid.uuid4())
    payload = {"roomId": room_id, "body": body, "clientMessageId": client_message_id}
    for _ in range(tries):
        try:
            return sio.call("message:send", payload, namespace="/chat", timeout=10)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            pass  # no ack (or not connected): try again, same key
    message, _ = rest(base, token, f"/api/chat/rooms/{room_id}/messages", "POST", {"body": body},
                      {"Idempotency-Key": client_message_id})
    return {"ok": True, "message": message}


def read_sse(base, token, room_id, last_event_id, want, timeout=10):
    """Events after last_event_id from /api/realtime/events; returns (status header, events)."""
    req = urllib.request.Request(f"{base}/api/realtime/events?rooms=chat:{room_id}",
                                 headers={"authorization": "Bearer " + token, "accept": "text/event-stream",
                                          "last-event-id": last_event_id})
    events = []
    with urllib.request.urlopen(req, timeout=timeout) as res:
        status = res.headers.get("Last-Event-ID-Status")
        block = {}
        for raw in res:
            line = raw.decode().rstrip("\n")
            if line == "":
                if "event" in block and "id" in block:
                    events.append({"id": block["id"], "event": block["event"], "data": json.loads(block["data"])})
                block = {}
                if len([e for e in events if e["event"] == "message:new"]) >= want:
                    break
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            block[key] = value[1:] if value.startswith(" ") else value
    return status, events


def main():
    base, token, room_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sio = socketio.Client(reconnection=False)
    state = {"last_event_id": None}
    got_message = threading.Event()
    authenticated = threading.Event()

    @sio.on("connected", namespace="/chat")
    def on_connected(info, *args):
        # recovered is False on a fresh connection, and after a reconnect whose gap could not be replayed:
        # then refetch the room over REST instead of trusting the stream.
        out(step="connected", recovered=info["recovered"])

    @sio.on("authenticated", namespace="/chat")
    def on_authenticated(info, *args):
        out(step="authenticated", userId=info["userId"])
        authenticated.set()

    @sio.on("message:new", namespace="/chat")
    def on_message(message, *args):
        # args[0] is the event id appended by connection state recovery (also message["eventId"]).
        state["last_event_id"] = message["eventId"]
        out(step="message", body=message["body"], id=message["id"], eventId=message["eventId"], extra=list(args))
        got_message.set()

    @sio.on("error", namespace="/chat")
    def on_error(err, *args):
        out(step="error", code=err.get("code"))

    sio.connect(base, namespaces=["/chat"], auth={"token": token}, transports=["websocket"], wait_timeout=10)
    if not authenticated.wait(10):
        raise SystemExit("not authenticated")
    joined = sio.call("room:join", {"roomId": room_id}, namespace="/chat", timeout=10)
    out(step="joined", ack=joined)
    key = str(uuid.uuid4())
    sent = send_message(sio, base, token, room_id, "hello from python", key)
    out(step="sent", ok=sent["ok"], id=sent["message"]["id"], clientMessageId=key)
    # As if the ack had been lost: the same key over REST answers with the message already stored.
    again, headers = rest(base, token, f"/api/chat/rooms/{room_id}/messages", "POST", {"body": "hello from python"},
                          {"Idempotency-Key": key})
    out(step="resent", id=again["id"], replayed=headers.get("Idempotent-Replayed"))
    if not got_message.wait(10):
        raise SystemExit("no message:new")
    bad = sio.call("message:send", {"roomId": room_id}, namespace="/chat", timeout=10)
    out(step="refused", error=bad["error"])
    sio.disconnect()

    out(step="offline", lastEventId=state["last_event_id"])
    sys.stdin.readline()
    status, events = read_sse(base, token, room_id, state["last_event_id"], want=2)
    if status == "gap":
        history, _ = rest(base, token, f"/api/chat/rooms/{room_id}/messages?limit=50")
        out(step="refetched", count=len(history["messages"]))
    out(step="resumed", status=status, bodies=[e["data"]["body"] for e in events if e["event"] == "message:new"],
        ids=[e["id"] for e in events])


if __name__ == "__main__":
    main()
