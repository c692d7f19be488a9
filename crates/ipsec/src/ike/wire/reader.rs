//! Checked big-endian reads over a byte slice: every read either returns the value or a
//! [`DecodeError::Truncated`] naming what was being read. Nothing here can panic.
//!
//! What it does not do: interpret fields (the payload decoders do).

use super::DecodeError;

/// A cursor over untrusted input.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated {
                what,
                needed: n,
                got: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_reports_truncation() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 0, 3, 9]);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u16("b").unwrap(), 2);
        assert_eq!(r.take(3, "c").unwrap(), &[0, 0, 0]);
        assert_eq!(r.u8("c").unwrap(), 3);
        assert_eq!(r.remaining(), 1);
        assert_eq!(
            r.u16("d").unwrap_err(),
            DecodeError::Truncated {
                what: "d",
                needed: 2,
                got: 1
            }
        );
        assert_eq!(r.rest(), &[9]);
        assert!(r.is_empty());
    }
}
