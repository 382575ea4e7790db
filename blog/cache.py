"""A Redis cache that fails soft.

The cache only ever saves work: when Redis is down, or accepts connections and never
answers, every operation acts as a miss (reads return the default, writes do nothing),
a warning is logged, and the page is built from the database. After a failure the
process leaves Redis alone for ``RETRY_SECONDS``, so a dead server costs one short
socket timeout now and then, not one on every request.
"""

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
# When each Redis server (by its LOCATION) failed last, for the whole process: Django
# makes one cache object per thread, and every thread should skip a server found dead.
_down_until: dict[str, float] = {}


def _soft(miss):
    """Run the operation unless Redis failed recently; if Redis fails, return ``miss``.

    Only Redis's own errors (connection refused, timeouts, protocol) count: a value that
    cannot be pickled is a bug, and still raises.
    """

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            fallback = miss(*args, **kwargs) if callable(miss) else miss
            if time.monotonic() < _down_until.get(self._location, 0.0):
                return fallback
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                _down_until[self._location] = time.monotonic() + RETRY_SECONDS
                logger.warning(
                    "Cache %s failed (%s: %s); serving uncached for %g s.",
                    method.__name__,
                    type(exc).__name__,
                    exc,
                    RETRY_SECONDS,
                )
                return fallback

        return wrapper

    return decorator


def _default(key, default=None, *args, **kwargs):
    return default


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, where a failure is a miss and a warning, never an error."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)

    get = _soft(_default)(RedisCache.get)
    get_many = _soft({})(RedisCache.get_many)
    has_key = _soft(False)(RedisCache.has_key)
    add = _soft(False)(RedisCache.add)
    set = _soft(None)(RedisCache.set)
    set_many = _soft(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    touch = _soft(False)(RedisCache.touch)
    delete = _soft(False)(RedisCache.delete)
    delete_many = _soft(None)(RedisCache.delete_many)
    clear = _soft(False)(RedisCache.clear)
