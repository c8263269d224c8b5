"""What the local provider gateways share: a threaded HTTP server on 127.0.0.1, on a free port (or one given)."""

import threading
from http.server import ThreadingHTTPServer

# How often serve_forever looks for shutdown(): closing a server then takes 50 ms, not up to half a second.
POLL = {"poll_interval": 0.05}


class LocalServer:
    """Serves ``self._handler()`` from a daemon thread from construction until ``close()``."""

    def _start(self, port: int = 0) -> None:
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs=POLL, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
