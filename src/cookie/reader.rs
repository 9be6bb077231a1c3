//! Finding our cookie's values in the raw `Cookie` header lines (the rules
//! are in the parent module's docs), in one pass over the bytes: a pair of
//! another name costs a search for the next `;`, ours a prefix compare and
//! one table lookup per value byte. This runs on every request.

use super::MAX_COOKIE_VALUE_LEN;

/// The values named `name` in one `Cookie` header line, in order.
pub(super) struct LineValues<'n, 'h> {
    pub(super) name: &'n [u8],
    pub(super) rest: &'h [u8],
}

impl<'h> Iterator for LineValues<'_, 'h> {
    type Item = &'h [u8];

    fn next(&mut self) -> Option<&'h [u8]> {
        while !self.rest.is_empty() {
            let line = self.rest;
            let start = skip_sp(line, 0);
            let (value, next) = match line[start..].strip_prefix(self.name) {
                Some([b'=', ..]) => value_at(line, start + self.name.len() + 1),
                // Another name (or ours without `=`): on to the next pair.
                _ => (None, start),
            };
            self.rest = after_semicolon(line, next);
            if value.is_some() {
                return value;
            }
        }
        None
    }
}

/// The value starting at `at` (just after `name=`) when it is well formed,
/// and where the scan stopped (at the `;` ending it, or the line's end).
/// Same rules as splitting the pair at `;`, trimming SP/HTAB, unwrapping
/// one pair of DQUOTEs and checking each byte, without a second pass.
fn value_at(line: &[u8], at: usize) -> (Option<&[u8]>, usize) {
    let mut i = skip_sp(line, at);
    let quoted = line.get(i) == Some(&b'"');
    if quoted {
        i += 1;
    }
    let begin = i;
    // Eight bytes per step without a branch per byte (an ID is 43).
    while let Some(chunk) = line.get(i..i + 8) {
        if !chunk.iter().fold(true, |ok, &b| ok & is_value_char(b)) {
            break;
        }
        i += 8;
    }
    while i < line.len() && is_value_char(line[i]) {
        i += 1;
    }
    let end = i;
    if quoted {
        if line.get(i) != Some(&b'"') {
            return (None, i);
        }
        i += 1;
    }
    i = skip_sp(line, i);
    let well_formed = matches!(line.get(i), None | Some(b';'))
        && end > begin
        && end - begin <= MAX_COOKIE_VALUE_LEN;
    if !well_formed {
        return (None, i);
    }
    (Some(&line[begin..end]), i)
}

fn skip_sp(line: &[u8], mut i: usize) -> usize {
    while matches!(line.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// What follows the first `;` at or after `from` (nothing when none).
fn after_semicolon(line: &[u8], from: usize) -> &[u8] {
    match line[from..].iter().position(|&b| b == b';') {
        Some(p) => &line[from + p + 1..],
        None => &[],
    }
}

/// The bytes our cookie values (base64url IDs, optionally `.`-signed) are
/// made of, as a table: the check runs on every byte of every request.
const VALUE_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
        i += 1;
    }
    t
};

fn is_value_char(b: u8) -> bool {
    VALUE_CHARS[usize::from(b)]
}
