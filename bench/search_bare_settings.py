"""Settings for bench/search_throughput.py only: the portal's own, plus the bare view's URL."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.search_bare_urls"
