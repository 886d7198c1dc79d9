"""Tests of relay.config.loader: parsing, ${VAR} substitution and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import load_config, parse_config
from relay.config.model import (
    ConsumerStateConfig,
    DiscardPolicy,
    HttpConfig,
    LogFormat,
    LoggingConfig,
    NatsConfig,
    PipelineConfig,
    RelayConfig,
    SerializationConfig,
    SerializationFormat,
    StorageType,
    StreamConfig,
    StreamManagement,
    SubscriptionConfig,
    VenueConfig,
)
from relay.domain.model import DataType

REPO = Path(__file__).resolve().parents[2]

VENUES = {
    "binance-usdm": frozenset(
        {
            DataType.TRADE,
            DataType.TICKER,
            DataType.L2_ORDERBOOK,
            DataType.CANDLE,
            DataType.FUNDING_RATE,
            DataType.LIQUIDATION,
        }
    ),
    "binance-spot": frozenset(
        {DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE}
    ),
}

ISSUE_EXAMPLE = """
[nats]
urls = ["${NATS_URL:-nats://127.0.0.1:4222}"]
embedded = false          # true: start the bundled nats-server with JetStream
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "file"
[serialization]
format = "json"
[http]
listen = "127.0.0.1:8080"
[[venues]]
id = "binance-usdm"
ws_url = "ws://127.0.0.1:9000/stream"   # optional override; default is the venue's public URL
rest_url = "http://127.0.0.1:9000"      # optional override
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade", "ticker", "l2_orderbook", "candle"]
"""

MINIMAL_VENUE = """
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade"]
"""

MINIMAL_VENUE_CONFIG = VenueConfig(
    id="binance-spot",
    subscriptions=(
        SubscriptionConfig(
            instrument="BTCUSDT", canonical_symbol="BTC/USDT", data_types=(DataType.TRADE,)
        ),
    ),
)


def parse(text: str, environ: dict[str, str] | None = None) -> RelayConfig:
    return parse_config(text, source="test.toml", venues=VENUES, environ=environ or {})


def problems_of(text: str, environ: dict[str, str] | None = None) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse(text, environ)
    return caught.value.problems


def test_issue_example_parses_to_the_exact_dataclasses() -> None:
    assert parse(ISSUE_EXAMPLE) == RelayConfig(
        nats=NatsConfig(
            urls=("nats://127.0.0.1:4222",),
            embedded=False,
            embedded_store_dir="",
            streams=(
                StreamConfig(
                    name="MARKET",
                    subjects=("market.>",),
                    storage=StorageType.FILE,
                    max_age_s=86_400.0,
                    max_bytes=10 * 1024**3,
                    max_msgs_per_subject=-1,
                    duplicate_window_s=120.0,
                    replicas=1,
                    discard=DiscardPolicy.OLD,
                    manage=StreamManagement.CREATE,
                ),
            ),
            subject_prefix="market",
            ack_timeout_s=5.0,
            max_in_flight=256,
            connect_timeout_s=5.0,
            ping_interval_s=5.0,
            max_outstanding_pings=2,
        ),
        venues=(
            VenueConfig(
                id="binance-usdm",
                subscriptions=(
                    SubscriptionConfig(
                        instrument="SUSHIUSDT",
                        canonical_symbol="SUSHI/USDT",
                        data_types=(
                            DataType.TRADE,
                            DataType.TICKER,
                            DataType.L2_ORDERBOOK,
                            DataType.CANDLE,
                        ),
                        depth=0,
                        candle_interval="1m",
                    ),
                ),
                ws_url="ws://127.0.0.1:9000/stream",
                rest_url="http://127.0.0.1:9000",
                enabled=True,
                reconnect_base_s=0.5,
                reconnect_cap_s=30.0,
                snapshot_timeout_s=10.0,
            ),
        ),
        serialization=SerializationConfig(format=SerializationFormat.JSON),
        http=HttpConfig(listen="127.0.0.1:8080", enabled=True),
        pipeline=PipelineConfig(
            max_queue_events=2_048,
            publish_retry_delays_s=(0.1, 0.5, 2.0),
            shutdown_timeout_s=10.0,
        ),
        logging=LoggingConfig(level="INFO", format=LogFormat.JSON),
    )


def test_only_venues_given_leaves_every_section_at_its_defaults() -> None:
    assert parse(MINIMAL_VENUE) == RelayConfig(nats=NatsConfig(), venues=(MINIMAL_VENUE_CONFIG,))


def test_every_key_set_is_read_into_its_field() -> None:
    text = """
[nats]
urls = ["nats://a:4222", "tls://b:4222"]
embedded = true
embedded_store_dir = "/var/lib/relay"
subject_prefix = "md"
ack_timeout_s = 2
max_in_flight = 64
connect_timeout_s = 1.5
ping_interval_s = 2.5
max_outstanding_pings = 3
[[nats.streams]]
name = "MD"
subjects = ["md.>", "other.x"]
storage = "memory"
max_age_s = 3600
max_bytes = 1048576
max_msgs_per_subject = 1000
duplicate_window_s = 30
replicas = 3
discard = "new"
manage = "update"
[serialization]
format = "protobuf"
[http]
listen = "[::1]:9100"
enabled = false
[pipeline]
max_queue_events = 500
publish_retry_delays_s = [1, 2.5]
shutdown_timeout_s = 3
[logging]
level = "debug"
format = "text"
[[venues]]
id = "binance-usdm"
ws_url = "wss://example.test/ws"
rest_url = "https://example.test"
enabled = false
reconnect_base_s = 1
reconnect_cap_s = 60
snapshot_timeout_s = 4
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["funding_rate", "liquidation"]
depth = 20
candle_interval = "15m"
"""
    assert parse(text) == RelayConfig(
        nats=NatsConfig(
            urls=("nats://a:4222", "tls://b:4222"),
            embedded=True,
            embedded_store_dir="/var/lib/relay",
            streams=(
                StreamConfig(
                    name="MD",
                    subjects=("md.>", "other.x"),
                    storage=StorageType.MEMORY,
                    max_age_s=3600.0,
                    max_bytes=1_048_576,
                    max_msgs_per_subject=1000,
                    duplicate_window_s=30.0,
                    replicas=3,
                    discard=DiscardPolicy.NEW,
                    manage=StreamManagement.UPDATE,
                ),
            ),
            subject_prefix="md",
            ack_timeout_s=2.0,
            max_in_flight=64,
            connect_timeout_s=1.5,
            ping_interval_s=2.5,
            max_outstanding_pings=3,
        ),
        venues=(
            VenueConfig(
                id="binance-usdm",
                subscriptions=(
                    SubscriptionConfig(
                        instrument="BTCUSDT",
                        canonical_symbol="BTC/USDT",
                        data_types=(DataType.FUNDING_RATE, DataType.LIQUIDATION),
                        depth=20,
                        candle_interval="15m",
                    ),
                ),
                ws_url="wss://example.test/ws",
                rest_url="https://example.test",
                enabled=False,
                reconnect_base_s=1.0,
                reconnect_cap_s=60.0,
                snapshot_timeout_s=4.0,
            ),
        ),
        serialization=SerializationConfig(format=SerializationFormat.PROTOBUF),
        http=HttpConfig(listen="[::1]:9100", enabled=False),
        pipeline=PipelineConfig(
            max_queue_events=500, publish_retry_delays_s=(1.0, 2.5), shutdown_timeout_s=3.0
        ),
        logging=LoggingConfig(level="DEBUG", format=LogFormat.TEXT),
    )


def test_set_variable_replaces_the_reference_and_its_default() -> None:
    config = parse(ISSUE_EXAMPLE, {"NATS_URL": "tls://nats.internal:4443"})

    assert config.nats.urls == ("tls://nats.internal:4443",)


def test_unset_variable_with_default_takes_the_default() -> None:
    config = parse(ISSUE_EXAMPLE, {})

    assert config.nats.urls == ("nats://127.0.0.1:4222",)


def test_empty_variable_with_default_takes_the_default_as_in_the_shell() -> None:
    config = parse(ISSUE_EXAMPLE, {"NATS_URL": ""})

    assert config.nats.urls == ("nats://127.0.0.1:4222",)


def test_several_references_inside_one_string_are_all_replaced() -> None:
    text = '[http]\nlisten = "${HOST}:${PORT:-9000}"\n' + MINIMAL_VENUE

    config = parse(text, {"HOST": "0.0.0.0"})

    assert config.http == HttpConfig(listen="0.0.0.0:9000")


def test_references_in_arrays_and_nested_tables_are_replaced() -> None:
    text = """
[[venues]]
id = "${VENUE}"
ws_url = "ws://${SIM_HOST}/stream"
[[venues.subscriptions]]
instrument = "${INSTRUMENT}"
canonical_symbol = "BTC/USDT"
data_types = ["${KIND:-trade}"]
"""
    environ = {"VENUE": "binance-spot", "SIM_HOST": "127.0.0.1:9000", "INSTRUMENT": "BTCUSDT"}

    config = parse(text, environ)

    assert config.venues == (
        VenueConfig(
            id="binance-spot",
            subscriptions=MINIMAL_VENUE_CONFIG.subscriptions,
            ws_url="ws://127.0.0.1:9000/stream",
        ),
    )


def test_unset_variable_without_default_is_reported_with_its_path() -> None:
    text = '[nats]\nurls = ["nats://a:4222", "${NATS_URL}"]\n' + MINIMAL_VENUE

    assert problems_of(text) == (
        ConfigProblem(
            "nats.urls[1]",
            "environment variable NATS_URL is not set and ${NATS_URL} has no default",
        ),
    )


def test_malformed_reference_is_reported() -> None:
    text = '[http]\nlisten = "${HOST:-127.0.0.1:8080"\n' + MINIMAL_VENUE

    assert problems_of(text) == (
        ConfigProblem(
            "http.listen", "malformed variable reference: write ${NAME} or ${NAME:-default}"
        ),
    )


def test_broken_config_reports_every_problem_with_its_path() -> None:
    text = """
[nats]
urls = ["http://127.0.0.1:4222"]
strems = []
ack_timeout_s = -1
[[nats.streams]]
subjects = ["market.>"]
[serialization]
format = "xml"
[http]
listen = "localhost"
[pipeline]
max_queue_events = true
[logging]
level = "TRACE"
[[venues]]
id = "kraken"
subscriptons = []
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC.USDT"
data_types = ["trade", "funding_rate", "trades"]
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "XBT/USDT"
data_types = "trade"
[[venues]]
id = "binance-spot"
subscriptions = []
"""
    assert [problem.path for problem in problems_of(text)] == [
        "nats.strems",
        "nats.urls[0]",
        "nats.streams[0].name",
        "nats.ack_timeout_s",
        "venues[0].subscriptons",
        "venues[0].id",
        "venues[0].subscriptions",
        "venues[1].subscriptions[0].canonical_symbol",
        "venues[1].subscriptions[0].data_types[1]",
        "venues[1].subscriptions[0].data_types[2]",
        "venues[1].subscriptions[1].instrument",
        "venues[1].subscriptions[1].data_types",
        "venues[2].id",
        "venues[2].subscriptions",
        "serialization.format",
        "http.listen",
        "pipeline.max_queue_events",
        "logging.level",
    ]


def test_broken_config_messages_say_what_is_allowed() -> None:
    text = """
[nats]
strems = []
[[venues]]
id = "kraken"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC USDT"
data_types = ["trade"]
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade", "funding_rate", "trades", "trade"]
"""
    assert problems_of(text) == (
        ConfigProblem("nats.strems", "unknown key (did you mean 'streams'?)"),
        ConfigProblem(
            "venues[0].id", "unknown venue 'kraken'; known venues: binance-spot, binance-usdm"
        ),
        ConfigProblem(
            "venues[0].subscriptions[0].canonical_symbol",
            "'BTC USDT': must not contain ' ' (NATS subject syntax)",
        ),
        ConfigProblem(
            "venues[1].subscriptions[0].data_types[1]",
            "data type 'funding_rate' is not supported by venue 'binance-spot'"
            " (supported: trade, ticker, l2_orderbook, candle)",
        ),
        ConfigProblem(
            "venues[1].subscriptions[0].data_types[2]",
            "unknown data type 'trades'; known: trade, ticker, l2_orderbook, funding_rate,"
            " liquidation, open_interest, candle",
        ),
        ConfigProblem("venues[1].subscriptions[0].data_types[3]", "duplicate data type 'trade'"),
    )


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            "[nats]\nmax_in_flight = true",
            ConfigProblem("nats.max_in_flight", "expected an integer, got a boolean true"),
        ),
        (
            "[nats]\nmax_in_flight = 1.0",
            ConfigProblem("nats.max_in_flight", "expected an integer, got a float 1.0"),
        ),
        (
            "[nats]\nembedded = 1",
            ConfigProblem("nats.embedded", "expected a boolean (true or false), got an integer 1"),
        ),
        (
            '[nats]\nurls = "nats://127.0.0.1:4222"',
            ConfigProblem(
                "nats.urls", "expected an array of strings, got a string 'nats://127.0.0.1:4222'"
            ),
        ),
        (
            "[nats]\nurls = []",
            ConfigProblem("nats.urls", "must list at least one URL"),
        ),
        (
            "[nats]\nconnect_timeout_s = true",
            ConfigProblem(
                "nats.connect_timeout_s", "expected a number of seconds, got a boolean true"
            ),
        ),
        (
            "[nats]\nconnect_timeout_s = 0",
            ConfigProblem("nats.connect_timeout_s", "must be greater than 0 seconds, got 0"),
        ),
        (
            "[nats]\nack_timeout_s = inf",
            ConfigProblem("nats.ack_timeout_s", "must be a finite number of seconds, got inf"),
        ),
        (
            '[nats]\nsubject_prefix = "market.data"',
            ConfigProblem(
                "nats.subject_prefix",
                "must be one NATS subject token (no '.', '*', '>' or spaces), got 'market.data'",
            ),
        ),
        (
            '[[nats.streams]]\nname = "MARKET"',
            ConfigProblem("nats.streams[0].subjects", "missing required key"),
        ),
        (
            '[[nats.streams]]\nname = "A.B"\nsubjects = ["x"]',
            ConfigProblem(
                "nats.streams[0].name",
                "a stream name must not contain '.', '*', '>', '/', '\\' or spaces, got 'A.B'",
            ),
        ),
        (
            '[[nats.streams]]\nname = "M"\nsubjects = ["x"]\nstorage = "disk"',
            ConfigProblem("nats.streams[0].storage", "must be one of 'file', 'memory', got 'disk'"),
        ),
        (
            '[[nats.streams]]\nname = "M"\nsubjects = ["x"]\nmax_bytes = 0',
            ConfigProblem(
                "nats.streams[0].max_bytes",
                "must be -1 (unlimited) or a positive number of bytes, got 0",
            ),
        ),
        (
            '[[nats.streams]]\nname = "M"\nsubjects = ["x"]\nmax_msgs_per_subject = 0',
            ConfigProblem(
                "nats.streams[0].max_msgs_per_subject",
                "must be -1 (unlimited) or a positive number of messages, got 0",
            ),
        ),
        (
            '[[nats.streams]]\nname = "M"\nsubjects = ["x"]\ndiscard = "oldest"',
            ConfigProblem("nats.streams[0].discard", "must be one of 'old', 'new', got 'oldest'"),
        ),
        (
            '[[nats.streams]]\nname = "M"\nsubjects = ["x"]\nmanage = "replace"',
            ConfigProblem(
                "nats.streams[0].manage", "must be one of 'create', 'update', got 'replace'"
            ),
        ),
        (
            "[nats]\nping_interval_s = 120",
            ConfigProblem("nats.ping_interval_s", "must be at most 60 seconds, got 120"),
        ),
        (
            "[nats]\nmax_outstanding_pings = 0",
            ConfigProblem("nats.max_outstanding_pings", "must be 1 to 10, got 0"),
        ),
        (
            '[[nats.streams]]\nname = "M"\nsubjects = ["x"]\nreplicas = 7',
            ConfigProblem("nats.streams[0].replicas", "must be 1 to 5, got 7"),
        ),
        (
            '[http]\nlisten = "127.0.0.1:70000"',
            ConfigProblem("http.listen", "port must be 0 to 65535, got 70000"),
        ),
        (
            '[http]\nlisten = "::1:8080"',
            ConfigProblem(
                "http.listen",
                "an IPv6 host must be in brackets (like '[::1]:8080'), got '::1:8080'",
            ),
        ),
        (
            '[http]\nlisten = ":8080"',
            ConfigProblem(
                "http.listen", "must be 'host:port' (like '127.0.0.1:8080'), got ':8080'"
            ),
        ),
        (
            "[pipeline]\nshutdown_timeout_s = -2.5",
            ConfigProblem(
                "pipeline.shutdown_timeout_s", "must be greater than 0 seconds, got -2.5"
            ),
        ),
        (
            '[pipeline]\npublish_retry_delays_s = [0.1, "1s", -1]',
            ConfigProblem(
                "pipeline.publish_retry_delays_s[1]",
                "expected a number of seconds, got a string '1s'",
            ),
        ),
        (
            '[logging]\nformat = "xml"',
            ConfigProblem("logging.format", "must be one of 'json', 'text', got 'xml'"),
        ),
        (
            '[serialization]\nformat = "avro"',
            ConfigProblem("serialization.format", "must be one of 'json', 'protobuf', got 'avro'"),
        ),
        (
            'serialization = "json"',
            ConfigProblem("serialization", "expected a table [serialization], got a string 'json'"),
        ),
        (
            "flavour = 1",
            ConfigProblem(
                "flavour",
                "unknown key (known keys: nats, venues, serialization, http, pipeline, logging,"
                " recording, consumer_state, cluster, control)",
            ),
        ),
    ],
)
def test_one_bad_value_is_reported_with_its_path_and_reason(
    section: str, problem: ConfigProblem
) -> None:
    problems = problems_of(section + "\n" + MINIMAL_VENUE)

    assert problems[0] == problem


def test_negative_retry_delay_is_reported_beside_a_wrong_type() -> None:
    text = '[pipeline]\npublish_retry_delays_s = [0.1, "1s", -1]\n' + MINIMAL_VENUE

    assert problems_of(text) == (
        ConfigProblem(
            "pipeline.publish_retry_delays_s[1]", "expected a number of seconds, got a string '1s'"
        ),
        ConfigProblem("pipeline.publish_retry_delays_s[2]", "must be at least 0 seconds, got -1"),
    )


@pytest.mark.parametrize(
    ("venue", "problem"),
    [
        (
            'ws_url = "http://127.0.0.1:9000"',
            ConfigProblem(
                "venues[0].ws_url", "must start with ws:// or wss://, got 'http://127.0.0.1:9000'"
            ),
        ),
        (
            'rest_url = "ws://127.0.0.1:9000"',
            ConfigProblem(
                "venues[0].rest_url",
                "must start with http:// or https://, got 'ws://127.0.0.1:9000'",
            ),
        ),
        (
            "reconnect_base_s = 5\nreconnect_cap_s = 1",
            ConfigProblem(
                "venues[0].reconnect_cap_s", "must be at least reconnect_base_s (5), got 1"
            ),
        ),
        (
            "snapshot_timeout_s = -1",
            ConfigProblem("venues[0].snapshot_timeout_s", "must be greater than 0 seconds, got -1"),
        ),
        (
            'enabled = "no"',
            ConfigProblem(
                "venues[0].enabled", "expected a boolean (true or false), got a string 'no'"
            ),
        ),
    ],
)
def test_bad_venue_value_is_reported_with_its_path(venue: str, problem: ConfigProblem) -> None:
    text = f"""
[[venues]]
id = "binance-spot"
{venue}
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade"]
"""
    assert problems_of(text) == (problem,)


@pytest.mark.parametrize(
    ("subscription", "problem"),
    [
        (
            'canonical_symbol = "BTC/USDT"\ndata_types = ["trade"]',
            ConfigProblem("venues[0].subscriptions[0].instrument", "missing required key"),
        ),
        (
            'instrument = ""\ncanonical_symbol = "BTC/USDT"\ndata_types = ["trade"]',
            ConfigProblem("venues[0].subscriptions[0].instrument", "must not be empty"),
        ),
        (
            'instrument = "BTCUSDT"\ndata_types = ["trade"]',
            ConfigProblem("venues[0].subscriptions[0].canonical_symbol", "missing required key"),
        ),
        (
            'instrument = "BTCUSDT"\ncanonical_symbol = "BTC/USDT"',
            ConfigProblem("venues[0].subscriptions[0].data_types", "missing required key"),
        ),
        (
            'instrument = "BTCUSDT"\ncanonical_symbol = "BTC/*"\ndata_types = ["trade"]',
            ConfigProblem(
                "venues[0].subscriptions[0].canonical_symbol",
                "'BTC/*': must not contain '*' (NATS subject syntax)",
            ),
        ),
        (
            'instrument = "BTCUSDT"\ncanonical_symbol = "BTC/>"\ndata_types = ["trade"]',
            ConfigProblem(
                "venues[0].subscriptions[0].canonical_symbol",
                "'BTC/>': must not contain '>' (NATS subject syntax)",
            ),
        ),
        (
            'instrument = "BTCUSDT"\ncanonical_symbol = "BTC/USDT"\ndata_types = [1]',
            ConfigProblem(
                "venues[0].subscriptions[0].data_types[0]", "expected a string, got an integer 1"
            ),
        ),
        (
            'instrument = "BTCUSDT"\ncanonical_symbol = "BTC/USDT"\ndata_types = ["trade"]\n'
            "depth = -5",
            ConfigProblem("venues[0].subscriptions[0].depth", "must be at least 0, got -5"),
        ),
        (
            'instrument = "BTCUSDT"\ncanonical_symbol = "BTC/USDT"\ndata_types = ["candle"]\n'
            'candle_interval = "1 minute"',
            ConfigProblem(
                "venues[0].subscriptions[0].candle_interval",
                "must be a count and a unit s, m, h, d, w or M (like '1m'), got '1 minute'",
            ),
        ),
    ],
)
def test_bad_subscription_is_reported_with_its_path(
    subscription: str, problem: ConfigProblem
) -> None:
    text = f'[[venues]]\nid = "binance-spot"\n[[venues.subscriptions]]\n{subscription}\n'

    assert problems_of(text) == (problem,)


def test_two_symbols_with_the_same_subject_token_in_one_venue_are_refused() -> None:
    text = """
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade"]
[[venues.subscriptions]]
instrument = "BTCUSDC"
canonical_symbol = "btc/usdt"
data_types = ["trade"]
"""
    assert problems_of(text) == (
        ConfigProblem(
            "venues[0].subscriptions[1].canonical_symbol",
            "subject token 'btc-usdt' of 'btc/usdt' is already used in venue 'binance-spot'"
            " (first at venues[0].subscriptions[0].canonical_symbol)",
        ),
    )


def test_same_instrument_in_two_venues_is_allowed() -> None:
    text = MINIMAL_VENUE.replace("binance-spot", "binance-usdm") + MINIMAL_VENUE

    config = parse(text)

    assert [venue.id for venue in config.venues] == ["binance-usdm", "binance-spot"]


def test_duplicate_venue_and_stream_names_point_at_the_first() -> None:
    text = (
        """
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
[[nats.streams]]
name = "MARKET"
subjects = ["other.>"]
"""
        + MINIMAL_VENUE
        + MINIMAL_VENUE
    )

    assert problems_of(text) == (
        ConfigProblem(
            "nats.streams[1].name", "duplicate stream name 'MARKET' (first at nats.streams[0].name)"
        ),
        ConfigProblem("venues[1].id", "duplicate venue id 'binance-spot' (first at venues[0].id)"),
    )


def test_missing_venues_is_reported() -> None:
    assert problems_of('[nats]\nurls = ["nats://127.0.0.1:4222"]\n') == (
        ConfigProblem("venues", "missing required key: at least one [[venues]] table is needed"),
    )


def test_venue_without_id_or_subscriptions_reports_both() -> None:
    assert problems_of('[[venues]]\nws_url = ""\n') == (
        ConfigProblem("venues[0].id", "missing required key"),
        ConfigProblem(
            "venues[0].subscriptions",
            "missing required key: at least one [[venues.subscriptions]] table is needed",
        ),
    )


def test_empty_subscriptions_array_is_refused() -> None:
    text = '[[venues]]\nid = "binance-spot"\nsubscriptions = []\n'

    assert problems_of(text) == (
        ConfigProblem(
            "venues[0].subscriptions", "must list at least one [[venues.subscriptions]] table"
        ),
    )


def test_quoted_unknown_key_is_named_in_toml_syntax() -> None:
    assert problems_of('[nats]\n"odd key" = 1\n' + MINIMAL_VENUE) == (
        ConfigProblem(
            'nats."odd key"',
            "unknown key (known keys: urls, embedded, embedded_store_dir, streams,"
            " subject_prefix, ack_timeout_s, max_in_flight, connect_timeout_s, ack_mode,"
            " ack_batch_max, ping_interval_s, max_outstanding_pings, user, password, token,"
            " nkey_seed_file, creds_file, tls_ca_file, tls_cert_file, tls_key_file, tls_verify,"
            " tls_handshake_first)",
        ),
    )


def test_lower_case_log_level_is_stored_upper_case() -> None:
    config = parse('[logging]\nlevel = "warning"\n' + MINIMAL_VENUE)

    assert config.logging == LoggingConfig(level="WARNING", format=LogFormat.JSON)


def test_toml_syntax_error_names_line_and_column() -> None:
    text = '[nats\nurls = ["nats://127.0.0.1:4222"]\n'

    with pytest.raises(ConfigError) as caught:
        parse(text)

    assert str(caught.value) == (
        "test.toml: 1 configuration problem\n"
        "  TOML syntax error at line 1, column 6: Unexpected character: '\\n'"
    )
    assert caught.value.problems == (
        ConfigProblem("", "TOML syntax error at line 1, column 6: Unexpected character: '\\n'"),
    )


def test_error_text_lists_every_problem_one_per_line() -> None:
    text = '[http]\nlisten = "x"\n[logging]\nformat = "xml"\n' + MINIMAL_VENUE

    with pytest.raises(ConfigError) as caught:
        parse(text)

    assert str(caught.value) == (
        "test.toml: 2 configuration problems\n"
        "  http.listen: must be 'host:port' (like '127.0.0.1:8080'), got 'x'\n"
        "  logging.format: must be one of 'json', 'text', got 'xml'"
    )
    assert caught.value.source == "test.toml"


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    with pytest.raises(ConfigError) as caught:
        load_config(missing, venues=VENUES, environ={})

    assert caught.value.source == str(missing)
    assert caught.value.problems == (
        ConfigProblem(
            "", f"cannot read the file: [Errno 2] No such file or directory: '{missing}'"
        ),
    )


def test_load_config_reads_the_file_and_uses_the_given_environment(tmp_path: Path) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")

    config = load_config(path, venues=VENUES, environ={"NATS_URL": "nats://10.0.0.1:4222"})

    assert config.nats.urls == ("nats://10.0.0.1:4222",)


def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "wss://nats.example.test:443")

    config = parse_config(ISSUE_EXAMPLE, source="test.toml", venues=VENUES)

    assert config.nats.urls == ("wss://nats.example.test:443",)


def test_shipped_relay_toml_loads_with_the_live_urls_left_to_the_venues() -> None:
    config = load_config(REPO / "config" / "relay.toml", venues=VENUES, environ={})

    assert config.nats.urls == ("nats://127.0.0.1:4222",)
    assert config.nats.streams == (
        StreamConfig(name="MARKET", subjects=("market.>",), max_age_s=86400.0),
    )
    assert config.http == HttpConfig(listen="127.0.0.1:8080", enabled=True)
    assert config.logging == LoggingConfig(level="INFO", format=LogFormat.JSON)
    assert [(venue.id, venue.ws_url, venue.rest_url) for venue in config.venues] == [
        ("binance-usdm", "", ""),
        ("binance-spot", "", ""),
    ]
    assert [
        (subscription.instrument, subscription.canonical_symbol, subscription.data_types)
        for venue in config.venues
        for subscription in venue.subscriptions
    ] == [
        (
            "BTCUSDT",
            "BTC/USDT",
            (
                DataType.TRADE,
                DataType.TICKER,
                DataType.L2_ORDERBOOK,
                DataType.CANDLE,
                DataType.FUNDING_RATE,
                DataType.LIQUIDATION,
            ),
        ),
        (
            "SUSHIUSDT",
            "SUSHI/USDT",
            (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE),
        ),
        (
            "BTCUSDT",
            "BTC/USDT",
            (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE),
        ),
        ("ETHBTC", "ETH/BTC", (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK)),
    ]


def test_shipped_simulate_toml_points_every_venue_at_the_simulator() -> None:
    config = load_config(REPO / "config" / "simulate.toml", venues=VENUES, environ={})

    four = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE)
    assert [
        (
            venue.id,
            venue.ws_url,
            venue.rest_url,
            [(s.instrument, s.canonical_symbol, s.data_types) for s in venue.subscriptions],
        )
        for venue in config.venues
    ] == [
        (
            "binance-usdm",
            "ws://127.0.0.1:9000/binance-usdm/stream",
            "http://127.0.0.1:9000/binance-usdm",
            [
                ("SUSHIUSDT", "SUSHI/USDT", four),
                ("AKROUSDT", "AKRO/USDT", four),
                ("KEEPUSDT", "KEEP/USDT", four),
                ("CTKUSDT", "CTK/USDT", four),
            ],
        ),
        (
            "binance-spot",
            "ws://127.0.0.1:9000/binance-spot/stream",
            "http://127.0.0.1:9000/binance-spot",
            [
                ("NKNUSDT", "NKN/USDT", four),
                ("BLZETH", "BLZ/ETH", four),
                ("LRCBTC", "LRC/BTC", four),
                ("RUNEEUR", "RUNE/EUR", four),
            ],
        ),
    ]
    assert config.nats.urls == ("nats://127.0.0.1:4222",)
    assert config.nats.streams == (
        StreamConfig(
            name="MARKET",
            subjects=("market.>",),
            storage=StorageType.MEMORY,
            max_age_s=3600.0,
            max_bytes=1024**3,
        ),
    )


def test_consumer_state_keys_are_read_and_checked_with_their_paths() -> None:
    config = parse(
        '[consumer_state]\nlatest_bucket = "my-latest"\nbook_snapshot_interval_s = 5\n'
        'storage = "memory"\nmanage = "update"\nreplicas = 3\n' + MINIMAL_VENUE
    )
    assert config.consumer_state == ConsumerStateConfig(
        latest_bucket="my-latest",
        book_snapshot_interval_s=5.0,
        storage=StorageType.MEMORY,
        manage=StreamManagement.UPDATE,
        replicas=3,
    )
    assert parse(MINIMAL_VENUE).consumer_state == ConsumerStateConfig()
    text = (
        '[consumer_state]\nbooks_bucket = "relay.books"\nlatest_interval_s = 0\n'
        "max_bytes = 10\nenabled = 1\nreplicas = 6\n" + MINIMAL_VENUE
    )
    assert [p.path for p in problems_of(text)] == [
        "consumer_state.enabled",
        "consumer_state.books_bucket",
        "consumer_state.latest_interval_s",
        "consumer_state.max_bytes",
        "consumer_state.replicas",
    ]
