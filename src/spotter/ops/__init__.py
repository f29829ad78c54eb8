"""Operating a stack: reprocessing with a new model, the dead-letter queue, and folder sync for drones."""
