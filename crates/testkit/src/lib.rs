//! Throwaway MariaDB servers for tests. (Being filled in.)
#![deny(missing_docs)]
