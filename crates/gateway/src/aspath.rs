//! Reading the AS_PATH text of a BGP route view (`"65001 65002 {65003 65004}"`) into the two
//! figures AWS's route selection compares: the path length as BGP counts it (an AS_SET counts
//! as one, RFC 4271 §9.1.2.2 (a)) and the first AS (the neighbour AS, for the MED rule \[V14\]).
//!
//! What it does not do: parse confederation segments (a VGW never sees them).

/// Length and first AS of an AS_PATH in the route view's text form.
pub fn length_and_first_as(text: &str) -> (u32, Option<u32>) {
    let mut length = 0u32;
    let mut first = None;
    let mut in_set = false;
    for (i, token) in text.split_whitespace().enumerate() {
        let opens = token.starts_with('{');
        if opens {
            in_set = true;
            length += 1;
        } else if !in_set {
            length += 1;
        }
        // Only a leading AS_SEQUENCE names the neighbour AS; a path starting with an AS_SET
        // has none.
        if i == 0 && !in_set {
            first = token.parse::<u32>().ok();
        }
        if token.ends_with('}') {
            in_set = false;
        }
    }
    (length, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_and_sets() {
        assert_eq!(length_and_first_as(""), (0, None));
        assert_eq!(length_and_first_as("65001"), (1, Some(65001)));
        assert_eq!(
            length_and_first_as("65001 65001 65001 65002"),
            (4, Some(65001))
        );
        assert_eq!(
            length_and_first_as("65001 {65003 65004} 65005"),
            (3, Some(65001))
        );
        // A path that starts with an AS_SET has no neighbour AS (RFC 4271 §9.1.2.2 (c)).
        assert_eq!(length_and_first_as("{65003,65004}"), (1, None));
    }
}
