"""The local stand-in for AWS: moto server, an SQS trigger for the classify handler, the API behind HTTP."""
