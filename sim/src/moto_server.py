"""moto's DynamoDB server, one request at a time.

moto's own `moto.server` answers each request on its own thread with no lock
around the backend, so two concurrent conditional writes to one item can both
succeed: DynamoDB never allows that, and the ledger's tests depend on it. This
launcher serves the same application behind one lock (requests still arrive on
concurrent keep-alive connections) and prints werkzeug's usual start-up line,
from which the caller reads the port.
"""

import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        # Consume the body inside the lock: the write it reports is then complete.
        return list(app(environ, start_response))


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)
