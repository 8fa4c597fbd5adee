"""What a run leaves: result types, the files on disk (store, summary, stages.csv, forecaster.pt),
the console and HTML reports and their plots."""
