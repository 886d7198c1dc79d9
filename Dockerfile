# relay: market data from venue WebSockets to NATS JetStream (docs/deployment.md).
# Build: docker build -t relay .
# Run:   docker run -p 8080:8080 -e NATS_URL=nats://nats:4222 relay
# Demo:  docker run --rm relay demo --seconds 20   (offline: embedded NATS + simulator)
FROM python:3.11-slim

# The package, built from a copy of the tree (with relay/demo/: the recorded sessions
# `relay demo` replays and their NOTICE, installed as package data), then the default
# config. .dockerignore keeps everything else out of the build context.
COPY pyproject.toml README.md /src/
COPY relay /src/relay
RUN pip install --no-cache-dir /src \
    && rm -rf /src \
    && groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent relay
WORKDIR /app
COPY config ./config

# Numeric user, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
USER 10001:10001

# config/relay.toml reads its listen address from RELAY_HTTP_LISTEN: all interfaces
# here, so probes and Prometheus reach /livez, /readyz, /health and /metrics.
ENV RELAY_CONFIG=/app/config/relay.toml \
    RELAY_HTTP_LISTEN=0.0.0.0:8080 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["relay"]
CMD ["run"]
