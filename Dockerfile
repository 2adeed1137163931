# The worker runtime image: `blackroad worker start`, configured by env
# (REDIS_URL, QUEUES, WORKER_CONCURRENCY, HANDLERS). Runs as a non-root user and with a
# read-only root filesystem (it writes nothing; Python bytecode is compiled at build time).
# No extra: the client install has no operator or devcluster dependency. Only worker_runtime
# is copied, so the wheel holds only that package (packages.find skips absent ones).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker_runtime ./worker_runtime
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels blackroad-queues && rm -rf /wheels \
    && python -m compileall -q /usr/local/lib/python3.11/site-packages \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin worker
# User handler modules go here (or in a derived image); HANDLERS names them.
WORKDIR /app
USER 10001:10001
EXPOSE 9100
ENTRYPOINT ["blackroad", "worker", "start"]
