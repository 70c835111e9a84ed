//! Browser tests (filled in below the harness).
