"""Runs over many series (one LSTM each, or one for all), the one place that decides which, resume,
and forecasting again from a finished run."""
