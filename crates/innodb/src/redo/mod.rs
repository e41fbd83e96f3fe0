//! The MariaDB 10.8+ redo log format. (Being filled in; see `shared/docs/redo-format.md`.)
