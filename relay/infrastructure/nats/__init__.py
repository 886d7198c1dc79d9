"""Publishing to NATS JetStream.

- :mod:`.commands`: sans-IO ``HPUB`` command bytes, and the only use of nats-py internals.
- :mod:`.acks`: what an ack says; batches confirmed by stream sequence; in-flight slots.
- :mod:`.outage_buffer`: the bounded buffer that holds messages during an outage.
- :mod:`.streams`: the JetStream streams the relay keeps (checked, created, updated).
- :mod:`.security`: TLS and authentication options for nats-py; why a server refused the relay.
- :mod:`.connection`: the NATS connection's lifecycle (connect with retry, callbacks, close).
- :mod:`.publisher`: :class:`~.publisher.JetStreamPublisher`, the ``MessageSink``.
"""
