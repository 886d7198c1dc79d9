# relay: market data from venue WebSockets to NATS JetStream.
# Build: docker build -t relay .    Run: docker run -v $PWD/config:/app/config relay
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY relay ./relay
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --uid 10001 relay
USER relay

ENV RELAY_CONFIG=/app/config/relay.toml
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health').status == 200 else 1)"
ENTRYPOINT ["relay"]
CMD ["run"]
