"""The TFLite interpreter: ai-edge-litert when installed, else the older tflite-runtime."""

from __future__ import annotations

try:  # pragma: no branch
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # pragma: no cover - exercised only where tflite-runtime is installed
    from tflite_runtime.interpreter import Interpreter

__all__ = ["Interpreter"]
