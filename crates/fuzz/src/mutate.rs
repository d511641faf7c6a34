//! Structure-aware mutation: a fuzz input is read as an edit script applied to a seed, so
//! random bytes from the engine reach deep into parsers that reject most random text at the
//! first byte (TOML, JSON, CSV, GGUF).

/// Tokens spliced in by the `insert token` edit: delimiters, huge and negative numbers,
/// non-UTF-8 bytes, template syntax.
const TOKENS: [&[u8]; 24] = [
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"\n",
    b"\r\n",
    b"\\",
    b"\0",
    b"\xff\xfe",
    b"\xe2\x82",
    b"-1",
    b"0",
    b"1e309",
    b"NaN",
    b"18446744073709551615",
    b"9223372036854775808",
    b"4294967296",
    b"null",
    b"{{",
    b"{%",
    b"%}",
    b"=",
];

/// The input `data` turns into: byte 0 picks a seed; with bit 0 of byte 1 clear, the rest of
/// `data` is taken as is (raw bytes); else the rest is an edit script of 4-byte edits
/// `(op, pos_lo, pos_hi, value)` applied to the seed in order.
pub fn mutate(seeds: &[Vec<u8>], data: &[u8]) -> Vec<u8> {
    let (Some(&pick), Some(&mode)) = (data.first(), data.get(1)) else {
        return data.to_vec();
    };
    let rest = &data[2..];
    if seeds.is_empty() || mode & 1 == 0 {
        return rest.to_vec();
    }
    let mut out = seeds[usize::from(pick) % seeds.len()].clone();
    for edit in rest.chunks_exact(4) {
        let (op, value) = (edit[0], edit[3]);
        let raw = usize::from(u16::from_le_bytes([edit[1], edit[2]]));
        let pos = if out.is_empty() {
            0
        } else {
            raw * out.len() / 65536
        };
        match op % 8 {
            0 => {
                if let Some(b) = out.get_mut(pos) {
                    *b = value;
                }
            }
            1 => out.insert(pos.min(out.len()), value),
            2 => {
                let end = (pos + usize::from(value % 16) + 1).min(out.len());
                out.drain(pos.min(end)..end);
            }
            3 => {
                let token = TOKENS[usize::from(value) % TOKENS.len()];
                let at = pos.min(out.len());
                out.splice(at..at, token.iter().copied());
            }
            4 => {
                // Duplicate a short span (repeats keys, rows, nesting).
                let end = (pos + usize::from(value % 64) + 1).min(out.len());
                let span = out[pos.min(end)..end].to_vec();
                out.splice(end..end, span);
            }
            5 => out.truncate(pos),
            6 => {
                if let Some(b) = out.get_mut(pos) {
                    *b ^= 1 << (value % 8);
                }
            }
            _ => {
                // Overwrite a little-endian u32/u64 field with an extreme value.
                let extreme: u64 = match value % 4 {
                    0 => u64::MAX,
                    1 => 1 << 40,
                    2 => u64::from(u32::MAX),
                    _ => 0,
                };
                for (i, b) in extreme.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = out.get_mut(pos + i) {
                        *slot = *b;
                    }
                }
            }
        }
        if out.len() > 1 << 20 {
            out.truncate(1 << 20);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_edited_inputs() {
        let seeds = vec![b"abc".to_vec()];
        assert_eq!(mutate(&seeds, b"\0\0xyz"), b"xyz");
        // Edit 0 writes `Z` at position 0.
        assert_eq!(mutate(&seeds, &[0, 1, 0, 0, 0, b'Z']), b"Zbc");
        // Edit 5 truncates at the middle.
        assert_eq!(mutate(&seeds, &[0, 1, 5, 0, 0x80, 0]), b"a");
        assert_eq!(mutate(&seeds, b"q"), b"q");
    }
}
