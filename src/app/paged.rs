//! A table whose rows live in SQLite and arrive in pages: the view asks only for what is on
//! screen, pages are cached with a bound, and a new filter bumps the generation so stale
//! answers are dropped.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Rows per page fetched from the workspace.
pub const PAGE_ROWS: usize = 200;
/// Pages kept in memory per table.
const MAX_PAGES: usize = 64;

/// Cached pages of one table.
#[derive(Debug)]
pub struct Paged<R> {
    /// Total rows under the current filter, once counted.
    pub total: Option<usize>,
    /// The filter the cached rows were fetched for.
    pub filter: String,
    generation: u64,
    pages: HashMap<usize, Vec<R>>,
    pending: HashSet<usize>,
    last_wanted: usize,
}

impl<R> Default for Paged<R> {
    fn default() -> Self {
        Self {
            total: None,
            filter: String::new(),
            generation: 0,
            pages: HashMap::new(),
            pending: HashSet::new(),
            last_wanted: 0,
        }
    }
}

impl<R> Paged<R> {
    /// The generation answers must carry to be accepted.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Forgets everything and starts over for `filter`; returns the new generation.
    pub fn reset(&mut self, filter: &str) -> u64 {
        self.generation += 1;
        self.filter = filter.to_string();
        self.total = None;
        self.pages.clear();
        self.pending.clear();
        self.generation
    }

    /// Row `index`, if its page has arrived.
    pub fn row(&self, index: usize) -> Option<&R> {
        self.pages
            .get(&(index / PAGE_ROWS))
            .and_then(|p| p.get(index % PAGE_ROWS))
    }

    /// Pages covering `rows` that are neither cached nor already requested; marks them
    /// requested.
    pub fn take_missing(&mut self, rows: Range<usize>) -> Vec<usize> {
        if rows.is_empty() {
            return Vec::new();
        }
        let first = rows.start / PAGE_ROWS;
        let last = (rows.end - 1) / PAGE_ROWS;
        self.last_wanted = first;
        (first..=last)
            .filter(|p| !self.pages.contains_key(p) && self.pending.insert(*p))
            .collect()
    }

    /// Stores a fetched page if it belongs to the current generation.
    pub fn insert(&mut self, generation: u64, page: usize, rows: Vec<R>) {
        if generation != self.generation {
            return;
        }
        self.pending.remove(&page);
        self.pages.insert(page, rows);
        while self.pages.len() > MAX_PAGES {
            let anchor = self.last_wanted;
            let Some(&far) = self.pages.keys().max_by_key(|p| p.abs_diff(anchor)) else {
                break;
            };
            self.pages.remove(&far);
        }
    }

    /// Records the total for the current generation.
    pub fn set_total(&mut self, generation: u64, total: usize) {
        if generation == self.generation {
            self.total = Some(total);
        }
    }

    /// Whether any requested page has not arrived yet.
    pub fn is_loading(&self) -> bool {
        self.total.is_none() || !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_each_missing_page_once_and_drops_stale_answers() {
        let mut t = Paged::<u32>::default();
        let g = t.reset("");
        assert_eq!(t.take_missing(0..250), vec![0, 1]);
        assert!(t.take_missing(0..250).is_empty(), "already pending");
        t.insert(g, 0, (0..PAGE_ROWS as u32).collect());
        assert_eq!(t.row(5), Some(&5));
        assert_eq!(t.row(205), None);
        let g2 = t.reset("x");
        t.insert(g, 1, vec![1; PAGE_ROWS]);
        assert_eq!(t.row(205), None, "stale generation ignored");
        t.set_total(g, 10);
        assert_eq!(t.total, None);
        t.set_total(g2, 10);
        assert_eq!(t.total, Some(10));
    }

    #[test]
    fn cache_is_bounded() {
        let mut t = Paged::<u8>::default();
        let g = t.reset("");
        for p in 0..(MAX_PAGES + 20) {
            t.take_missing(p * PAGE_ROWS..p * PAGE_ROWS + 1);
            t.insert(g, p, vec![0]);
        }
        assert!(t.pages.len() <= MAX_PAGES);
        assert!(
            t.pages.contains_key(&(MAX_PAGES + 19)),
            "the page in view stays"
        );
    }
}
