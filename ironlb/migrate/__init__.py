"""Migration from MetalLB's legacy ConfigMap configuration to metallb.io manifests."""

from ironlb.migrate.configmap import MigrationResult, migrate_configmap

__all__ = ["MigrationResult", "migrate_configmap"]
