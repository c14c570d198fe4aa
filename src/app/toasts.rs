//! Short notices in the corner: completions fade after a few seconds, errors stay until read.

use std::time::{Duration, Instant};

/// What kind of notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Success,
    Error,
}

/// One notice.
#[derive(Clone, Debug)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
    pub created: Instant,
}

impl Toast {
    /// How long it stays up (errors stay until dismissed or a minute passes).
    pub fn lifetime(&self) -> Duration {
        match self.kind {
            ToastKind::Error => Duration::from_secs(60),
            _ => Duration::from_secs(6),
        }
    }
}

/// The live notices.
#[derive(Debug, Default)]
pub struct Toasts {
    items: Vec<Toast>,
    next_id: u64,
}

impl Toasts {
    /// Adds a notice.
    pub fn push(&mut self, kind: ToastKind, text: impl Into<String>) {
        self.next_id += 1;
        let text = text.into();
        match kind {
            ToastKind::Error => tracing::warn!("{text}"),
            _ => tracing::info!("{text}"),
        }
        self.items.push(Toast {
            id: self.next_id,
            kind,
            text,
            created: Instant::now(),
        });
        if self.items.len() > 6 {
            self.items.remove(0);
        }
    }

    /// Removes a notice.
    pub fn dismiss(&mut self, id: u64) {
        self.items.retain(|t| t.id != id);
    }

    /// Drops expired notices.
    pub fn expire(&mut self) {
        self.items.retain(|t| t.created.elapsed() < t.lifetime());
    }

    /// The live notices, oldest first.
    pub fn items(&self) -> &[Toast] {
        &self.items
    }
}
