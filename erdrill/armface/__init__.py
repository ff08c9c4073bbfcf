"""The lab's Azure face: a local HTTPS server answering the ARM calls a drill makes.

The Azure SDK talks to it exactly as to management.azure.com (base_url, a per-lab CA via
connection_verify, a per-lab bearer token), so the Azure target runs unchanged on the lab.
"""

from erdrill.armface.backend import (
    Backend,
    Call,
    Reply,
    ResourceBackend,
    ResourceNames,
    ScriptedBackend,
    error_reply,
)
from erdrill.armface.credential import LabFaceCredential, is_loopback_endpoint
from erdrill.armface.memory import InMemoryBackend
from erdrill.armface.server import FaceInfo, RequestLog, Server, discover, serve

__all__ = [
    "Backend",
    "Call",
    "FaceInfo",
    "InMemoryBackend",
    "LabFaceCredential",
    "Reply",
    "RequestLog",
    "ResourceBackend",
    "ResourceNames",
    "ScriptedBackend",
    "Server",
    "discover",
    "error_reply",
    "is_loopback_endpoint",
    "serve",
]
