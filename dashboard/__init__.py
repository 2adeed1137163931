"""The web dashboard behind ``blackroad dashboard``: queues, jobs, workers, schedules, pools.

Server-rendered by aiohttp and Jinja2 (autoescaped); it reads Redis only through the
engine's read operations and acts only through the client's control operations.
"""
