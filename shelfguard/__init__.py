"""shelfguard: data contracts and quality gates for retailer point-of-sale data.

Importing the package (the command line does, and `assets` does first) tells jemalloc, the
allocator of Polars and deltalake, to hand freed pages back after one second instead of its default
ten: in one long in-process run, memory a step had freed otherwise stayed with the process while
the next step allocated. Not at once: a short run then spends its time faulting in pages it had
just freed (docs/performance-pipeline.md). It must be set before either library loads; a value
already in the environment wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0")
