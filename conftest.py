"""Root conftest: loads the shared pytest plugins (fixtures) each area owns."""

pytest_plugins = [
    "tests.plugins.kubeapi",
    "tests.plugins.netns",
]
