"""What is stored and read back: prediction records, queries and their cursors, names, stats, SQL,
exports and the one place files are written whole, plots, and the Parquet copy for Athena."""
