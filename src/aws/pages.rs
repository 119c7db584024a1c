//! The one way every listing is read (docs/design.md §12): page by page, at
//! most a fixed number of pages, and a page token seen before ends it (a
//! service that hands one back would page for ever). A listing stopped by
//! either is not complete, and says so.

/// A bounded walk over one listing's pages.
#[derive(Debug)]
pub struct Pages {
    operation: &'static str,
    max: usize,
    read: usize,
    next: Option<String>,
    seen: Vec<String>,
    ended: bool,
    complete: bool,
}

impl Pages {
    /// A walk over `operation`'s pages, reading at most `max`.
    pub fn new(operation: &'static str, max: usize) -> Pages {
        Pages { operation, max, read: 0, next: None, seen: Vec::new(), ended: false, complete: false }
    }

    /// The token to ask the next page with (`None` inside for the first page),
    /// or `None` when the listing is over.
    pub fn next(&mut self) -> Option<Option<String>> {
        (!self.ended && self.read < self.max).then(|| self.next.take())
    }

    /// Takes the `nextToken` of the page just read.
    pub fn after(&mut self, token: Option<&str>) {
        self.read += 1;
        let operation = self.operation;
        match token.filter(|t| !t.is_empty()) {
            None => {
                self.ended = true;
                self.complete = true;
            }
            Some(t) if self.seen.iter().any(|s| s == t) => {
                tracing::warn!(operation, "the service repeated a page token; the listing stops here");
                self.ended = true;
            }
            Some(t) => {
                self.seen.push(t.to_string());
                self.next = Some(t.to_string());
                if self.read == self.max {
                    tracing::warn!(operation, pages = self.max, "the listing has more pages than this product reads; it stops here");
                }
            }
        }
    }

    /// True when the last page was read (no page cap, no repeated token stopped it).
    pub fn complete(&self) -> bool {
        self.complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks a listing whose pages answer `tokens` in turn; returns (pages read, complete).
    fn walk(max: usize, tokens: &[Option<&str>]) -> (usize, bool) {
        let mut pages = Pages::new("ListX", max);
        let mut asked = Vec::new();
        while let Some(token) = pages.next() {
            asked.push(token);
            pages.after(tokens.get(asked.len() - 1).copied().flatten());
        }
        assert_eq!(asked.first(), Some(&None), "the first page is asked without a token");
        (asked.len(), pages.complete())
    }

    #[test]
    fn a_listing_ends_at_its_last_page_complete() {
        assert_eq!(walk(20, &[Some("a"), Some("b"), None]), (3, true));
        assert_eq!(walk(20, &[Some("")]), (1, true), "an empty token is no token");
    }

    #[test]
    fn the_page_cap_and_a_repeated_token_stop_it_incomplete() {
        assert_eq!(walk(2, &[Some("a"), Some("b"), None]), (2, false));
        assert_eq!(walk(20, &[Some("a"), Some("b"), Some("a"), None]), (3, false));
    }

    #[test]
    fn each_page_is_asked_with_the_token_before_it() {
        let mut pages = Pages::new("ListX", 5);
        assert_eq!(pages.next(), Some(None));
        pages.after(Some("t1"));
        assert_eq!(pages.next(), Some(Some("t1".to_string())));
        pages.after(None);
        assert_eq!(pages.next(), None);
    }
}
