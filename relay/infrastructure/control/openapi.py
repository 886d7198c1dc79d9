"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any, Final

_PROBLEMS: Final = {
    "description": "refused: every problem listed",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problems"}}},
}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return dict.fromkeys(codes, _PROBLEMS)


_STREAM_PATH: Final = [
    {"name": "venue", "in": "path", "required": True, "schema": {"type": "string"}},
    {"name": "instrument", "in": "path", "required": True, "schema": {"type": "string"}},
]

_STREAMS = {"type": "array", "items": {"$ref": "#/components/schemas/Stream"}}

OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {"title": "relay control API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problems": {
                "type": "object",
                "required": ["problems"],
                "properties": {
                    "problems": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    }
                },
            },
            "Stream": {
                "type": "object",
                "properties": {
                    "venue": {"type": "string"},
                    "instrument": {"type": "string"},
                    "canonical_symbol": {"type": "string"},
                    "data_type": {"type": "string"},
                    "state": {
                        "enum": ["streaming", "resyncing", "stale", "disconnected", "paused"]
                    },
                    "paused": {"type": "boolean"},
                    "depth": {"type": ["integer", "null"]},
                    "stale_after_s": {"type": ["number", "null"]},
                    "events_per_s": {"type": "number"},
                    "events_total": {"type": "integer"},
                    "last_event_age_s": {"type": ["number", "null"]},
                    "resyncs": {"type": "integer"},
                    "book": {
                        "type": ["object", "null"],
                        "properties": {
                            "depth": {"type": "array", "items": {"type": "integer"}},
                            "best_bid": {"type": ["array", "null"], "items": {"type": "string"}},
                            "best_ask": {"type": ["array", "null"], "items": {"type": "string"}},
                        },
                    },
                    "origin": {"enum": ["config", "runtime"]},
                },
            },
            "NewStreams": {
                "type": "object",
                "required": ["venue", "instrument", "canonical_symbol", "data_types"],
                "properties": {
                    "venue": {"type": "string"},
                    "instrument": {"type": "string"},
                    "canonical_symbol": {"type": "string"},
                    "data_types": {"type": "array", "items": {"type": "string"}},
                    "depth": {"type": "integer", "minimum": 0},
                    "candle_interval": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "Knobs": {
                "type": "object",
                "properties": {
                    "paused": {"type": "boolean"},
                    "depth": {"type": ["integer", "null"], "minimum": 0},
                    "stale_after_s": {"type": ["number", "null"], "minimum": 0},
                },
                "additionalProperties": False,
            },
            "Status": {
                "type": "object",
                "properties": {
                    "nats": {"type": "object"},
                    "queue_depth": {"type": "integer"},
                    "publish_latency_s": {"type": ["object", "null"]},
                    "streams": _STREAMS,
                    "venues": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/streams": {
            "get": {
                "summary": "every desired stream with its state",
                "responses": {
                    "200": _ok("streams", {"type": "object", "properties": {"streams": _STREAMS}}),
                    **_errors("401"),
                },
            },
            "post": {
                "summary": "subscribe an instrument's data types",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/NewStreams"}}
                    },
                },
                "responses": {
                    "201": _ok("added", {"type": "object", "properties": {"streams": _STREAMS}}),
                    **_errors("400", "401", "403", "409", "413", "422", "503"),
                },
            },
        },
        "/streams/{venue}/{instrument}": {
            "delete": {
                "summary": "unsubscribe an instrument (one data type with ?data_type=)",
                "parameters": [
                    *_STREAM_PATH,
                    {"name": "data_type", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _ok("removed", {"type": "object"}),
                    **_errors("401", "403", "404", "503"),
                },
            }
        },
        "/streams/{venue}/{instrument}/{data_type}": {
            "patch": {
                "summary": "change a stream's knobs",
                "parameters": [
                    *_STREAM_PATH,
                    {
                        "name": "data_type",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Knobs"}}
                    },
                },
                "responses": {
                    "200": _ok("the stream", {"$ref": "#/components/schemas/Stream"}),
                    **_errors("400", "401", "403", "404", "413", "422", "503"),
                },
            }
        },
        "/venues": {
            "get": {
                "summary": "each venue's connections",
                "responses": {"200": _ok("venues", {"type": "object"}), **_errors("401")},
            }
        },
        "/venues/{venue}/reconnect": {
            "post": {
                "summary": "reconnect every connection of a venue",
                "parameters": [
                    {"name": "venue", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "202": _ok("reconnecting", {"type": "object"}),
                    **_errors("401", "403", "404"),
                },
            }
        },
        "/capabilities": {
            "get": {
                "summary": "data types and depths each venue supports",
                "responses": {"200": _ok("capabilities", {"type": "object"}), **_errors("401")},
            }
        },
        "/status": {
            "get": {
                "summary": "one status snapshot",
                "responses": {
                    "200": _ok("status", {"$ref": "#/components/schemas/Status"}),
                    **_errors("401"),
                },
            }
        },
        "/events": {
            "get": {
                "summary": "a status snapshot about every second (server-sent events)",
                "responses": {
                    "200": {
                        "description": "data: <Status JSON> lines",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors("401"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "responses": {"200": _ok("OpenAPI 3.1", {"type": "object"})},
            }
        },
    },
}
"""The document (a constant; the schemas follow docs/control.md)."""
