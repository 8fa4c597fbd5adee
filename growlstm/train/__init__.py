"""Training: the LightningModule, batches, one candidate's fit, seeds packed together, and the
stage evaluator that trains a stage's seeds and scores them at the validation origins."""
