//! NextQuill objective tests.
