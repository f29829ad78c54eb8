"""Build-time model pipeline: data and splits, training, int8 conversion, evaluation, the card.

TensorFlow/Keras are imported lazily inside the functions that need them, so importing this
package (or `spotter --help`) never loads TensorFlow. Nothing outside `spotter.modelbuild`
imports TensorFlow; the runtime only ever sees the `.tflite` file and its card.
"""
