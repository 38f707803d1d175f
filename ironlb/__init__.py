"""ironlb: MetalLB-compatible load balancing for bare-metal Kubernetes (shared code)."""

__version__ = "0.1.0"
