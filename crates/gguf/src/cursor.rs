//! A bounded little-endian reader over the file header: every length is checked against the
//! bytes left before anything is allocated.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{GgufError, Result};

/// `fn $name(&mut self, what) -> Result<$t>`: one little-endian `$t`.
macro_rules! read_le {
    ($($name:ident: $t:ty),*) => {$(
        pub fn $name(&mut self, what: &str) -> Result<$t> {
            Ok(<$t>::from_le_bytes(self.array(what)?))
        }
    )*};
}

/// Reads the header section sequentially, knowing the file length, and names the current
/// section (`context`) in every error.
pub(crate) struct Cursor<R> {
    inner: R,
    pos: u64,
    len: u64,
    path: PathBuf,
    /// What is being read (`header`, `metadata key \`x\``, `tensor \`y\``).
    pub context: String,
}

impl<R: Read> Cursor<R> {
    pub fn new(inner: R, len: u64, path: &Path) -> Self {
        Self {
            inner,
            pos: 0,
            len,
            path: path.to_path_buf(),
            context: "header".into(),
        }
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    /// An error in the current context.
    pub fn malformed(&self, message: impl Into<String>) -> GgufError {
        GgufError::Malformed {
            path: self.path.clone(),
            context: self.context.clone(),
            message: message.into(),
        }
    }

    /// Fails unless `n` more bytes exist.
    pub fn need(&self, n: u64, what: &str) -> Result<()> {
        if n > self.remaining() {
            return Err(self.malformed(format!(
                "truncated: {what} needs {n} bytes at offset {}, only {} left in the file ({} bytes)",
                self.pos,
                self.remaining(),
                self.len
            )));
        }
        Ok(())
    }

    /// Fails unless `count` items of at least `min_bytes` each can fit in what is left (the
    /// guard against a header that claims 10^12 entries).
    pub fn bound_count(&self, count: u64, min_bytes: u64, what: &str) -> Result<usize> {
        let fits = count
            .checked_mul(min_bytes)
            .is_some_and(|n| n <= self.remaining());
        if !fits {
            return Err(self.malformed(format!(
                "{what} count {count} cannot fit in the {} bytes left in the file (each takes at \
                 least {min_bytes})",
                self.remaining()
            )));
        }
        usize::try_from(count)
            .map_err(|_| self.malformed(format!("{what} count {count} overflows")))
    }

    /// Fills `buf` (its length already checked against the bytes left).
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(|source| GgufError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    pub fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        self.need(n, what)?;
        let len = usize::try_from(n).map_err(|_| self.malformed(format!("{what} too long")))?;
        let mut buf = vec![0u8; len];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    read_le!(i8: i8, u16: u16, i16: i16, u32: u32, i32: i32, u64: u64, i64: i64, f32: f32, f64: f64);

    /// A bool byte: 0 or 1 (the spec's rule; anything else is an error, not `true`).
    pub fn bool(&mut self, what: &str) -> Result<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.malformed(format!("{what} is a bool byte {b}, expected 0 or 1"))),
        }
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes; the length is checked against the
    /// bytes left and `max_len` before the buffer is allocated.
    pub fn string(&mut self, what: &str, max_len: u64) -> Result<String> {
        let n = self.u64(what)?;
        if n > max_len {
            return Err(self.malformed(format!(
                "{what} claims {n} bytes, more than the limit of {max_len}"
            )));
        }
        let bytes = self.bytes(n, what)?;
        String::from_utf8(bytes).map_err(|e| self.malformed(format!("{what} is not UTF-8: {e}")))
    }
}
