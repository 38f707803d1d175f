"""The metallb.io configuration model: parsing, validation, CRDs, annotations, selectors."""

from ironlb.config.annotations import annotation
from ironlb.config.model import (
    BFDProfile,
    BGPAdvertisement,
    BGPCommunity,
    BGPPeer,
    BGPSessionState,
    Community,
    CommunityAlias,
    ConfigError,
    ConfigObject,
    IPAddressPool,
    L2Advertisement,
    LargeCommunity,
    SecretRef,
    ServiceAllocation,
    ServiceBGPStatus,
    ServiceL2Status,
    StandardCommunity,
)
from ironlb.config.parse import parse_community, parse_duration, parse_object, parse_object_errors
from ironlb.config.selectors import LabelSelector, matches
from ironlb.config.validate import Config, ConfigResult, build_config

__all__ = [
    "BFDProfile",
    "BGPAdvertisement",
    "BGPCommunity",
    "BGPPeer",
    "BGPSessionState",
    "Community",
    "CommunityAlias",
    "Config",
    "ConfigError",
    "ConfigObject",
    "ConfigResult",
    "IPAddressPool",
    "L2Advertisement",
    "LabelSelector",
    "LargeCommunity",
    "SecretRef",
    "ServiceAllocation",
    "ServiceBGPStatus",
    "ServiceL2Status",
    "StandardCommunity",
    "annotation",
    "build_config",
    "matches",
    "parse_community",
    "parse_duration",
    "parse_object",
    "parse_object_errors",
]
