"""The codec of a configured format name, imported only when that format is asked for.

A JSON-only relay never imports betterproto. Kept apart from
:mod:`relay.serialization.codec`, which the codecs import: that module stays the
package's leaf and the package has no import circle.
"""

from __future__ import annotations

from relay.domain.errors import RelayError
from relay.serialization.codec import Codec


class UnknownFormatError(RelayError):
    """No codec is named ``format_name``.

    Attributes:
        format_name: the refused name.
    """

    def __init__(self, format_name: str) -> None:
        super().__init__(f"unknown wire format {format_name!r}: expected 'json' or 'protobuf'")
        self.format_name = format_name


def codec_for(format_name: str) -> Codec:
    """The codec of a configured format name: ``"json"`` or ``"protobuf"``.

    Raises:
        UnknownFormatError: any other name.
    """
    if format_name == "json":
        from relay.serialization.json_codec import JsonCodec

        return JsonCodec()
    if format_name == "protobuf":
        from relay.serialization.protobuf_codec import ProtobufCodec

        return ProtobufCodec()
    raise UnknownFormatError(format_name)
