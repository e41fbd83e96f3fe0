//! Reads and writes the metadata files of a backup directory. (Being filled in.)
#![deny(missing_docs)]
