"""`python -m checks.diff`: print the catalogue table that docs/contract-review.md shows."""

from checks.diff.catalogue import markdown_table

print(markdown_table())
