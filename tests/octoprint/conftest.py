from tests.support.fixtures import cluster_factory, pytest_runtest_makereport  # noqa: F401
