"""Evidence about code that needs no model: running candidates on checks in a sandbox (`sandbox`),
checks extracted from instructions (`examples`), and the correctness and security signals built on
them (`correctness`, `security`). Judges and generators import from here; nothing here imports them."""
