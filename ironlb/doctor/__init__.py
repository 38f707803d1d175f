"""`ironlb doctor`: checks a cluster (or manifest files) for the classic mistakes of
bare-metal load balancing and explains each finding with the objects involved, why it
matters and the exact fix."""

from ironlb.doctor.findings import Finding, Report, Severity
from ironlb.doctor.run import diagnose

__all__ = ["Finding", "Report", "Severity", "diagnose"]
