//! A cursor that reproduces the `fscanf(3)` directives mariadb-backup uses to read
//! `xtrabackup_checkpoints`, so we accept exactly the whitespace variations it accepts.
//!
//! In a scanf format, a whitespace character matches any amount (including none) of
//! whitespace, an ordinary character must match itself, and `%s`/`%lu`/`%d` skip leading
//! whitespace before reading.

use crate::error::{excerpt, line_at};

pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0 }
    }

    pub(crate) fn line(&self) -> usize {
        line_at(self.text, self.pos)
    }

    /// The rest of the current line, for error messages.
    pub(crate) fn found(&self) -> String {
        excerpt(self.rest())
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && is_c_space(bytes[self.pos]) {
            self.pos += 1;
        }
    }

    /// Matches a format fragment made of ordinary characters and whitespace. Like scanf,
    /// characters matched before a mismatch stay consumed.
    pub(crate) fn pattern(&mut self, format: &str) -> bool {
        for f in format.bytes() {
            if is_c_space(f) {
                self.skip_space();
                continue;
            }
            match self.text.as_bytes().get(self.pos) {
                Some(&b) if b == f => self.pos += 1,
                _ => return false,
            }
        }
        true
    }

    /// `%s`: skips whitespace, then reads a run of non-whitespace characters (possibly empty
    /// at end of input, which scanf treats as failure).
    pub(crate) fn word(&mut self) -> &'a str {
        self.skip_space();
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && !is_c_space(bytes[self.pos]) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// The token a numeric conversion would look at: optional sign followed by digits.
    /// Returns the raw token (possibly empty) after skipping whitespace.
    pub(crate) fn number_token(&mut self) -> &'a str {
        self.skip_space();
        let start = self.pos;
        let bytes = self.text.as_bytes();
        if self.pos < bytes.len() && matches!(bytes[self.pos], b'+' | b'-') {
            self.pos += 1;
        }
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }
}

/// Parses an unsigned decimal as `%lu` does, but rejects what `%lu` would silently mangle:
/// a minus sign (it wraps around) and overflow.
pub(crate) fn parse_u64(token: &str) -> Result<u64, &'static str> {
    let digits = token.strip_prefix('+').unwrap_or(token);
    if digits.starts_with('-') {
        return Err("negative number");
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal number");
    }
    digits.parse::<u64>().map_err(|_| "number too large")
}

/// Parses a signed decimal (`%d`, `%lld`).
pub(crate) fn parse_i64(token: &str) -> Result<i64, &'static str> {
    let (negative, digits) = match token.as_bytes().first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal number");
    }
    let magnitude: i128 = digits.parse().map_err(|_| "number too large")?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).map_err(|_| "number out of range")
}
