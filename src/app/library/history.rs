//! Undo/redo of recipe edits. A slider drag sends an edit every frame; edits of the same
//! parameter within [`MERGE_WINDOW`] merge into one step, so one drag is one undo.

use std::time::{Duration, Instant};

use crate::imaging::Recipe;

/// Edits of the same parameter closer together than this are one undo step.
pub const MERGE_WINDOW: Duration = Duration::from_millis(800);
/// Undo steps kept.
const MAX_STEPS: usize = 200;

/// The undo and redo stacks of one asset page.
#[derive(Debug, Default)]
pub struct History {
    undo: Vec<Recipe>,
    redo: Vec<Recipe>,
    last: Option<(String, Instant)>,
}

impl History {
    /// Records that the recipe is about to change from `before` by an edit of `what`.
    pub fn record(&mut self, before: &Recipe, what: &str, now: Instant) {
        let merges = self
            .last
            .as_ref()
            .is_some_and(|(w, t)| w == what && now.duration_since(*t) < MERGE_WINDOW);
        if !merges {
            self.undo.push(before.clone());
            if self.undo.len() > MAX_STEPS {
                self.undo.remove(0);
            }
        }
        self.redo.clear();
        self.last = Some((what.to_string(), now));
    }

    /// The recipe to go back to, given the current one.
    pub fn undo(&mut self, current: &Recipe) -> Option<Recipe> {
        let previous = self.undo.pop()?;
        self.redo.push(current.clone());
        self.last = None;
        Some(previous)
    }

    /// The recipe to go forward to, given the current one.
    pub fn redo(&mut self, current: &Recipe) -> Option<Recipe> {
        let next = self.redo.pop()?;
        self.undo.push(current.clone());
        self.last = None;
        Some(next)
    }

    /// Whether there is anything to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is anything to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_name(name: &str) -> Recipe {
        Recipe {
            name: name.into(),
            ..Recipe::default()
        }
    }

    #[test]
    fn a_drag_is_one_step_and_redo_follows_undo() {
        let mut h = History::default();
        let t0 = Instant::now();
        let (a, b, c) = (with_name("a"), with_name("b"), with_name("c"));
        h.record(&a, "sharpen.amount", t0);
        h.record(&b, "sharpen.amount", t0 + Duration::from_millis(100)); // same drag
        h.record(&b, "frame", t0 + Duration::from_millis(200));
        assert_eq!(h.undo(&c), Some(b.clone()));
        assert_eq!(h.undo(&b), Some(a.clone()));
        assert_eq!(h.undo(&a), None);
        assert_eq!(h.redo(&a), Some(b.clone()));
        assert_eq!(h.redo(&b), Some(c.clone()));
        assert!(!h.can_redo());
        h.record(&c, "levels", t0 + Duration::from_secs(5));
        assert!(h.can_undo() && !h.can_redo());
    }
}
