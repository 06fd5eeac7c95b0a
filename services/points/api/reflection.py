"""Server reflection, v1 and v1alpha, answered from the committed descriptor set so that comments reach the client.

grpcio-reflection serves only v1alpha (clients that ask v1 first, such as grpc-node's, get
UNIMPLEMENTED) and rebuilds each file from the running descriptors, which carry no source info.
Here the files of `points/v1/descriptors.binpb` (points.v1, their imports and grpc.reflection.v1,
written by `make proto` with comments) are sent as protoc wrote them; any other file the process
has loaded (grpc.health.v1, v1alpha reflection) is rebuilt from the default pool, without comments.

The two versions' messages are the same on the wire, so v1alpha's generated classes serve both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2 as messages

SERVICE_V1 = "grpc.reflection.v1.ServerReflection"
SERVICE_V1ALPHA = messages.DESCRIPTOR.services_by_name["ServerReflection"].full_name
SERVICE_NAMES = (SERVICE_V1, SERVICE_V1ALPHA)
METHOD = "ServerReflectionInfo"
DESCRIPTOR_SET = "descriptors.binpb"  # in the points.v1 package, beside the generated code (points.protogen)


class Descriptors:
    """The files reflection describes: the descriptor set's as protoc wrote them, else the process's own."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto], fallback: descriptor_pool.DescriptorPool) -> None:
        self._files: dict[str, tuple[bytes, tuple[str, ...]]] = {}
        self._pool = descriptor_pool.DescriptorPool()  # the set's own, for symbol and extension look-ups
        for file in files:  # a set written with --include_imports lists every file after its imports
            serialized = file.SerializeToString()
            self._files[file.name] = (serialized, tuple(file.dependency))
            self._pool.AddSerializedFile(serialized)
        self._fallback = fallback

    def _file(self, name: str) -> tuple[bytes, tuple[str, ...]]:
        """The serialized FileDescriptorProto named `name` and the names it imports; KeyError if unknown."""
        if name in self._files:
            return self._files[name]
        proto = descriptor_pb2.FileDescriptorProto()
        self._fallback.FindFileByName(name).CopyToProto(proto)
        return proto.SerializeToString(), tuple(proto.dependency)

    def with_imports(self, name: str) -> list[bytes]:
        """The file named `name` first, then every file it imports, directly or not (a client needs them all to use it)."""
        found: list[bytes] = []
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop(0)
            if current in seen:
                continue
            seen.add(current)
            serialized, imports = self._file(current)
            found.append(serialized)
            pending.extend(imports)
        return found

    def file_containing_symbol(self, symbol: str) -> str:
        for pool in (self._pool, self._fallback):
            try:
                return str(pool.FindFileContainingSymbol(symbol).name)
            except KeyError:
                pass
            # The pool finds types, services and extensions, not a service's method or a message's
            # field, which the reflection protocol also takes as symbols.
            parent, _, member = symbol.rpartition(".")
            try:
                service = pool.FindServiceByName(parent)
                if member in service.methods_by_name:
                    return str(service.file.name)
            except KeyError:
                pass
            try:
                message = pool.FindMessageTypeByName(parent)
                if member in message.fields_by_name:
                    return str(message.file.name)
            except KeyError:
                pass
        raise KeyError(symbol)

    def file_containing_extension(self, containing_type: str, number: int) -> str:
        for pool in (self._pool, self._fallback):
            try:
                extension = pool.FindExtensionByNumber(pool.FindMessageTypeByName(containing_type), number)
            except KeyError:
                continue
            return str(extension.file.name)
        raise KeyError(f"{containing_type} extension {number}")

    def extension_numbers(self, containing_type: str) -> tuple[str, list[int]]:
        """The type's full name and its known extensions' numbers, from both pools."""
        full_name = ""
        numbers: set[int] = set()
        for pool in (self._pool, self._fallback):
            try:
                message = pool.FindMessageTypeByName(containing_type)
            except KeyError:
                continue
            full_name = message.full_name
            numbers.update(extension.number for extension in pool.FindAllExtensions(message))
        if not full_name:
            raise KeyError(containing_type)
        return full_name, sorted(numbers)


@cache
def committed_descriptors() -> Descriptors:
    """The set `make proto` wrote into the points.v1 package, over the default pool; read once per process."""
    data = (resources.files("points.v1") / DESCRIPTOR_SET).read_bytes()
    return Descriptors(descriptor_pb2.FileDescriptorSet.FromString(data).file, descriptor_pool.Default())


class ReflectionServicer:
    """ServerReflectionInfo: each request on the stream gets one answer, in order."""

    def __init__(self, service_names: Iterable[str], descriptors: Descriptors) -> None:
        self.service_names = tuple(sorted(set(service_names)))
        self.descriptors = descriptors

    def ServerReflectionInfo(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:  # noqa: N802 (gRPC's name)
        for request in requests:
            yield self.answer(request)

    def answer(self, request: Any) -> Any:
        asked = request.WhichOneof("message_request")
        try:
            if asked == "list_services":
                services = [messages.ServiceResponse(name=name) for name in self.service_names]
                return messages.ServerReflectionResponse(
                    original_request=request, list_services_response=messages.ListServiceResponse(service=services)
                )
            if asked == "all_extension_numbers_of_type":
                base, numbers = self.descriptors.extension_numbers(request.all_extension_numbers_of_type)
                return messages.ServerReflectionResponse(
                    original_request=request,
                    all_extension_numbers_response=messages.ExtensionNumberResponse(base_type_name=base, extension_number=numbers),
                )
            if asked == "file_by_filename":
                name = request.file_by_filename
            elif asked == "file_containing_symbol":
                name = self.descriptors.file_containing_symbol(request.file_containing_symbol)
            elif asked == "file_containing_extension":
                wanted = request.file_containing_extension
                name = self.descriptors.file_containing_extension(wanted.containing_type, wanted.extension_number)
            else:
                return _error(request, grpc.StatusCode.INVALID_ARGUMENT, "no request set: ask for one of the message_request fields")
            files = self.descriptors.with_imports(name)
        except KeyError:
            return _error(request, grpc.StatusCode.NOT_FOUND, f"not found: {_asked_for(request, str(asked))}")
        return messages.ServerReflectionResponse(
            original_request=request, file_descriptor_response=messages.FileDescriptorResponse(file_descriptor_proto=files)
        )


def _asked_for(request: Any, asked: str) -> str:
    if asked == "file_containing_extension":
        wanted = request.file_containing_extension
        return f"extension {wanted.extension_number} of {wanted.containing_type!r}"
    return f"{asked} {getattr(request, asked)!r}"


def _error(request: Any, code: grpc.StatusCode, message: str) -> Any:
    return messages.ServerReflectionResponse(
        original_request=request, error_response=messages.ErrorResponse(error_code=code.value[0], error_message=message)
    )


def add_reflection(server: grpc.Server, service_names: Iterable[str], descriptors: Descriptors | None = None) -> None:
    """Serves reflection v1 and v1alpha on `server`, listing `service_names` and both reflection services."""
    servicer = ReflectionServicer((*service_names, *SERVICE_NAMES), descriptors or committed_descriptors())
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=messages.ServerReflectionRequest.FromString,
        response_serializer=messages.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(tuple(grpc.method_handlers_generic_handler(name, {METHOD: handler}) for name in SERVICE_NAMES))
