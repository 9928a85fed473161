"""The hostile-input tests use the nwg_us contract of the bronze tests."""

from tests.bronze.conftest import nwg_contract  # noqa: F401  (a fixture)
