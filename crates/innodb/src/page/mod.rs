//! InnoDB page formats: FIL header/trailer, page types, FSP flags, checksums, validation.
//! (Being filled in; see `shared/docs/page-format.md`.)
