//! The caller's further check of pages that pass their checksums (`--extended-validation`
//! decrypts encrypted pages): a hook, so that keys and ciphers stay out of this crate.

use innodb::page::PageValidator;
use innodb::PageNo;

/// Builds the further check of each tablespace copied ([`crate::CopyOptions::deep_check`]).
pub trait DeepCheck: Send + Sync + std::fmt::Debug {
    /// The check of the pages of the tablespace `validator` was built for, from its page 0
    /// (`None` for a further system tablespace file, [`crate::SourceKind::SystemNext`]: the
    /// first file's page 0 applies). `Ok(None)`: nothing more to check. `Err` says why the
    /// tablespace cannot be checked (a key that is not in the key file) and fails the copy.
    fn for_space(
        &self,
        validator: &PageValidator,
        page0: Option<&[u8]>,
    ) -> Result<Option<Box<dyn SpaceCheck>>, String>;
}

/// The further check of one tablespace's pages.
pub trait SpaceCheck: Send + Sync {
    /// Why `page`, read at `page_no` and valid by its checksums, is corrupt; `None` if it is not.
    fn check(&self, page: &[u8], page_no: PageNo) -> Option<String>;
}
