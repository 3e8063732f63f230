"""tensord.profiler (torch.profiler): profile with a schedule, steps and trace handlers,
over the ranges of tensord.autograd.profiler (record_function, profiler steps, module
forwards with with_modules), each timed between daemon syncs."""
from ..autograd.profiler import record_function  # noqa: F401
from .profiler import ProfilerAction, ProfilerActivity, profile, schedule, supported_activities, \
    tensorboard_trace_handler  # noqa: F401

__all__ = ["profile", "schedule", "supported_activities", "tensorboard_trace_handler", "ProfilerAction",
           "ProfilerActivity", "record_function"]
