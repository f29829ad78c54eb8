"""The model as data: its card (labels, decision, scaling, validation), the metadata inside a .tflite,
the LiteRT runtime, preprocessing and the classifier that runs them."""
