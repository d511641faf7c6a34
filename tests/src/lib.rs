//! End-to-end tests of the prefopt CLI.
