"""Wait until a URL answers (any HTTP status), for scripts/run; exit 1 after the deadline."""

import sys
import time
import urllib.error
import urllib.request

DEADLINE_SECONDS = 60


def main(url: str) -> int:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - a local http URL we built
            return 0
        except urllib.error.HTTPError:
            return 0  # it answered
        except OSError:
            time.sleep(0.5)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
