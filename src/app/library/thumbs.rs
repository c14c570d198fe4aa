//! Thumbnail textures for the library grid: loaded only for tiles on screen, a few jobs at a
//! time (the newest visible set wins, so fast scrolling never queues thousands of decodes),
//! and bounded in GPU memory by evicting the least recently drawn.

use std::collections::{HashMap, HashSet};

/// Hashes decoded per background job.
pub const THUMBS_PER_JOB: usize = 12;
/// Thumbnail jobs running at once.
const MAX_JOBS: usize = 2;
/// Default texture budget: 96 MiB, about 380 thumbnails of 256×256.
pub const DEFAULT_BUDGET_BYTES: usize = 96 * 1024 * 1024;

struct Entry {
    texture: egui::TextureHandle,
    bytes: usize,
    last_drawn: u64,
}

/// The grid's thumbnail textures.
pub struct ThumbTextures {
    entries: HashMap<String, Entry>,
    in_flight: HashSet<String>,
    failed: HashSet<String>,
    wanted: Vec<String>,
    jobs: usize,
    frame: u64,
    bytes: usize,
    budget_bytes: usize,
}

impl Default for ThumbTextures {
    fn default() -> Self {
        Self::with_budget(DEFAULT_BUDGET_BYTES)
    }
}

impl ThumbTextures {
    /// A cache holding at most `budget_bytes` of texture memory (at least what one screen
    /// shows is always kept).
    pub fn with_budget(budget_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            in_flight: HashSet::new(),
            failed: HashSet::new(),
            wanted: Vec::new(),
            jobs: 0,
            frame: 0,
            bytes: 0,
            budget_bytes,
        }
    }

    /// The texture for a content hash, if loaded.
    pub fn get(&self, hash: &str) -> Option<&egui::TextureHandle> {
        self.entries.get(hash).map(|e| &e.texture)
    }

    /// Whether the thumbnail could not be made (the tile shows a placeholder).
    pub fn is_failed(&self, hash: &str) -> bool {
        self.failed.contains(hash)
    }

    /// Textures held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no texture is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Texture memory held, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Thumbnails on screen that are not loaded yet (queued or decoding).
    pub fn pending(&self) -> usize {
        self.wanted.len() + self.in_flight.len()
    }

    /// Records the hashes drawn this frame; the missing ones become the wanted set.
    pub fn drawn(&mut self, hashes: &[String]) {
        self.frame += 1;
        let frame = self.frame;
        self.wanted.clear();
        for h in hashes {
            match self.entries.get_mut(h) {
                Some(e) => e.last_drawn = frame,
                None if !self.in_flight.contains(h)
                    && !self.failed.contains(h)
                    && !self.wanted.contains(h) =>
                {
                    self.wanted.push(h.clone());
                }
                None => {}
            }
        }
    }

    /// The next batch to decode, if a job slot is free.
    pub fn next_batch(&mut self) -> Option<Vec<String>> {
        if self.jobs >= MAX_JOBS || self.wanted.is_empty() {
            return None;
        }
        let n = self.wanted.len().min(THUMBS_PER_JOB);
        let batch: Vec<String> = self.wanted.drain(..n).collect();
        self.in_flight.extend(batch.iter().cloned());
        self.jobs += 1;
        Some(batch)
    }

    /// Takes a finished batch: textures for the hashes that decoded, failures for the rest.
    pub fn finish_batch(
        &mut self,
        ctx: &egui::Context,
        results: Vec<(String, Option<egui::ColorImage>)>,
    ) {
        self.jobs = self.jobs.saturating_sub(1);
        for (hash, image) in results {
            self.in_flight.remove(&hash);
            match image {
                Some(image) => {
                    let bytes = image.pixels.len() * 4;
                    let texture = ctx.load_texture(
                        format!("thumb-{hash}"),
                        image,
                        egui::TextureOptions::LINEAR,
                    );
                    self.bytes += bytes;
                    let old = self.entries.insert(
                        hash,
                        Entry {
                            texture,
                            bytes,
                            last_drawn: self.frame,
                        },
                    );
                    if let Some(old) = old {
                        self.bytes -= old.bytes;
                    }
                }
                None => {
                    self.failed.insert(hash);
                }
            }
        }
        self.evict();
    }

    /// A batch job failed as a whole (e.g. the workspace went away): forget its hashes so
    /// they are asked for again when next drawn.
    pub fn abandon_batch(&mut self, hashes: &[String]) {
        self.jobs = self.jobs.saturating_sub(1);
        for h in hashes {
            self.in_flight.remove(h);
        }
    }

    /// Drops least recently drawn textures until within budget; textures drawn in the
    /// current frame are never dropped.
    fn evict(&mut self) {
        if self.bytes <= self.budget_bytes {
            return;
        }
        let mut by_age: Vec<(u64, String)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.last_drawn < self.frame)
            .map(|(h, e)| (e.last_drawn, h.clone()))
            .collect();
        by_age.sort();
        for (_, hash) in by_age {
            if self.bytes <= self.budget_bytes {
                break;
            }
            if let Some(e) = self.entries.remove(&hash) {
                self.bytes -= e.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Option<egui::ColorImage> {
        Some(egui::ColorImage::filled([16, 16], egui::Color32::GRAY))
    }

    #[test]
    fn only_visible_thumbs_are_requested_and_lru_is_evicted() {
        let ctx = egui::Context::default();
        // Room for three 16×16 textures.
        let mut t = ThumbTextures::with_budget(3 * 16 * 16 * 4);
        let names: Vec<String> = (0..6).map(|i| format!("h{i}")).collect();
        t.drawn(&names[0..3]);
        assert_eq!(t.pending(), 3);
        let batch = t.next_batch().expect("batch");
        assert_eq!(batch.len(), 3);
        assert!(t.next_batch().is_none(), "nothing else wanted");
        t.finish_batch(&ctx, batch.into_iter().map(|h| (h, image())).collect());
        assert_eq!((t.len(), t.pending()), (3, 0));

        // Scroll: h0 stays on screen, h3 and h4 appear.
        t.drawn(&[names[0].clone(), names[3].clone(), names[4].clone()]);
        let batch = t.next_batch().expect("batch");
        assert_eq!(batch, vec!["h3".to_string(), "h4".to_string()]);
        t.finish_batch(&ctx, batch.into_iter().map(|h| (h, image())).collect());
        assert_eq!(t.len(), 3, "held within budget");
        assert!(t.get("h0").is_some(), "drawn recently");
        assert!(t.get("h1").is_none() && t.get("h2").is_none(), "evicted");
        assert!(t.get("h3").is_some() && t.get("h4").is_some());

        t.drawn(&[names[5].clone()]);
        let batch = t.next_batch().expect("batch");
        t.finish_batch(&ctx, batch.into_iter().map(|h| (h, None)).collect());
        assert!(t.is_failed("h5"));
        t.drawn(&[names[5].clone()]);
        assert_eq!(
            t.pending(),
            0,
            "failed thumbnails are not retried every frame"
        );
    }
}
