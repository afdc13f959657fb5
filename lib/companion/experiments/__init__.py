"""One module per paper: the experiment functions its notebook calls, each returning tidy DataFrames."""
