"""The growth recipe for one series (or one pooled set): the policy's pure decisions, the series
made ready, the stage loop, the controller, and the refit of the chosen size."""
