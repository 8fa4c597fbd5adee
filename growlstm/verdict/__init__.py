"""The verdict: which forecast to use and how sure (candidates, combinations, significance,
conformal intervals), and what the accuracy goal can claim."""
