"""CodePrefBench: loading the four files (`data`), running a judge by the protocol (`runner`),
and the accuracy report (`report`)."""
