"""The researcher's HTTP API, without HTTP: who the caller is and may see, presigned uploads,
batches (listing, removal, tombstones), and how records and errors are shown."""
