"""boto3 implementations of the domain's ports. The only place (with handlers) that talks to AWS."""
