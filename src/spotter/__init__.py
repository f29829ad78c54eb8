"""Spotter: serve an image classifier from S3 uploads to DynamoDB predictions."""

__version__ = "0.1.0"
