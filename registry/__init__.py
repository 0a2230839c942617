"""The registry: schema, loading, history, checks and the `ofsted-homes` CLI."""
