"""L3 performance: each measurable criterion's benchmark, timed in the sandbox, judged on the
median against its budget; a miss sends the hot-path atoms back with the figures."""

from mge.execution.performance.driver import BENCHMARK_DIR, benchmark_files
from mge.execution.performance.gate import PerformanceGate
from mge.execution.performance.judge import hot_path, judge, performance_feedback
from mge.execution.performance.render import PERFORMANCE_FILE, render_performance

__all__ = [
    "BENCHMARK_DIR",
    "PERFORMANCE_FILE",
    "PerformanceGate",
    "benchmark_files",
    "hot_path",
    "judge",
    "performance_feedback",
    "render_performance",
]
