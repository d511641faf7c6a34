//! Stop strings: a choice ends before the first occurrence of any of them (OpenAI's
//! semantics: the stop string itself is not returned).
//!
//! The generator stops on tokens, not strings, so a batch may generate past a row's stop
//! string; the text is cut afterwards, and the token count reported is the shortest prefix of
//! the generated tokens whose text already holds the stop string.

/// Byte offset of the earliest occurrence of any of `stops` in `text`.
pub fn find_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter_map(|s| text.find(s.as_str())).min()
}

/// The fewest of `n` tokens whose decoded prefix satisfies `holds_stop`, given that the full
/// `n` tokens do (a binary search: the predicate is monotone in the prefix length for
/// decoded text).
pub fn shortest_prefix(n: usize, mut holds_stop: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds_stop(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_stop_wins() {
        let stops = vec!["END".to_owned(), "\n".to_owned()];
        assert_eq!(find_stop("abc\ndef END", &stops), Some(3));
        assert_eq!(find_stop("abc END\n", &stops), Some(4));
        assert_eq!(find_stop("abc", &stops), None);
        assert_eq!(find_stop("abc", &[]), None);
    }

    #[test]
    fn shortest_prefix_is_found() {
        let pieces = ["a", "b", "E", "N", "D", "x"];
        let text = |k: usize| pieces[..k].concat();
        let stops = vec!["END".to_owned()];
        let k = shortest_prefix(pieces.len(), |k| find_stop(&text(k), &stops).is_some());
        assert_eq!(k, 5);
        assert_eq!(shortest_prefix(3, |_| true), 0);
        assert_eq!(shortest_prefix(3, |k| k >= 3), 3);
    }
}
