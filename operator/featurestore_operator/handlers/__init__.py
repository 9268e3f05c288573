"""kopf registrations. Importing this package registers every handler."""

from featurestore_operator.handlers import children, featurestore, materialization, startup  # noqa: F401
