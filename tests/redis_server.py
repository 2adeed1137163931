"""Re-exported for tests: a real redis-server on a free port."""

from devstack.localredis import RedisServer, free_port

__all__ = ["RedisServer", "free_port"]
