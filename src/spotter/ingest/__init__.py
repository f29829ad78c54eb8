"""From an uploaded object to a record: S3/SQS events, object keys and limits, the decode sandbox,
EXIF, and the classify pipeline that ties them to the model and the record writer."""
