"""The `ofsted-homes` command line (entry point: ``registry.cli.main:main``)."""
