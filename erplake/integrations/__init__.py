"""Adapters to the outside world (Gupshup, Razorpay, LLM) and their loopback fakes."""
