"""shelfguard: data contracts and quality gates for retailer point-of-sale data.

Importing the package (the command line does, and `assets` does first) tells jemalloc, the
allocator of Polars and deltalake, to hand freed pages back at once instead of after its decay
time: in one long in-process run, memory a step had freed otherwise stayed with the process while
the next step allocated (docs/performance-pipeline.md). It must be set before either library
loads; a value already in the environment wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0")
