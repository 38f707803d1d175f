"""Root conftest: loads the shared pytest plugins (fixtures) each area owns."""

pytest_plugins = [
    "tests.plugins.emulator",
    "tests.plugins.netns",
]
