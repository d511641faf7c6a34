//! Integration tests of prefopt-tasks (one binary).
