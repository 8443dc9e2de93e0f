"""Asks a server's reflection service what it serves, as grpcurl, ghz and
buf curl do, without generated stubs: the messages are encoded by hand.

usage: reflection_check.py HOST:PORT
Prints each service name, then the file defining recserve.v1.Recommender.
Exits 1 when reflection is not available.
"""
import sys

import grpc

METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def field(number, payload):
    """A length-delimited protobuf field (payloads < 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def strings_in(message):
    """Every printable run of 6+ bytes: enough to find names in a response."""
    runs, run = [], bytearray()
    for b in message:
        if 32 <= b < 127:
            run.append(b)
        else:
            if len(run) >= 6:
                runs.append(run.decode())
            run = bytearray()
    if len(run) >= 6:
        runs.append(run.decode())
    return runs


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    call = channel.stream_stream(METHOD, request_serializer=None,
                                 response_deserializer=None)
    requests = [
        field(7, b""),  # list_services
        field(4, b"recserve.v1.Recommender"),  # file_containing_symbol
    ]
    try:
        responses = list(call(iter(requests), timeout=10))
    except grpc.RpcError as e:
        print("reflection failed:", e.code(), e.details())
        return 1
    for response in responses:
        for s in strings_in(response):
            print(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
