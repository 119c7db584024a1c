"""moto's DynamoDB server, one request at a time, with a call count and an
optional added latency.

moto's own `moto.server` answers each request on its own thread with no lock
around the backend, so two concurrent conditional writes to one item can both
succeed: DynamoDB never allows that, and the ledger's tests depend on it. This
launcher serves the same application behind one lock (requests still arrive on
concurrent keep-alive connections) and prints werkzeug's usual start-up line,
from which the caller reads the port.

Arguments: HOST PORT [LATENCY_MS]. Every request waits LATENCY_MS before it is
served (outside the lock, as network time would), for tests of a slow ledger.
GET /_calls answers the number of requests served so far, by DynamoDB operation.
"""

import json
import sys
import threading
import time

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
calls = {}
latency = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0


def serialized(environ, start_response):
    if environ.get("PATH_INFO") == "/_calls":
        with lock:
            body = json.dumps(calls).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if latency:
        time.sleep(latency)
    operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2] or "other"
    with lock:
        calls[operation] = calls.get(operation, 0) + 1
        # Consume the body inside the lock: the write it reports is then complete.
        return list(app(environ, start_response))


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)
