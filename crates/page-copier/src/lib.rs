//! Copies `ibdata*`, `undo*` and `*.ibd` files from a live server with `pread`, validating
//! every page and re-reading torn pages. Not implemented yet (issue: `--backup`).
#![deny(missing_docs)]
