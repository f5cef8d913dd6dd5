"""The SDK's version: the server's and the OpenAPI spec's ``info.version``."""
__version__ = "0.1.0"
