"""The review web interface: a local server over the store (``mge review serve``).

Pages and API for the review queue; decisions go through
:func:`mge.pipeline.review_decision.carry_out_decision`. The frontend (TypeScript, React,
CodeMirror 6) is built from ``webui/`` into ``dist/`` and shipped as package data.
"""

from mge.web.serve import ServeOptions, serve

__all__ = ["ServeOptions", "serve"]
