//! A compact histogram gradient-boosted trees classifier (binary log-loss), built to match
//! scikit-learn's `HistGradientBoostingClassifier` where both are defined: the same binning of
//! low-cardinality features (midpoints between distinct values), best-first growth limited by
//! `max_leaf_nodes`, Newton leaf values `-G / (H + l2)` times the learning rate, and the same
//! split gain. `tests/gbm_reference.rs` checks predictions against scikit-learn's.
//!
//! It is written here rather than pulled in because scoring needs bit-reproducible results
//! for a seed, sample weights, and a few hundred lines beat a large dependency tree on the
//! project's two-core builds.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Errors fitting a model.
#[derive(Debug, thiserror::Error)]
pub enum GbmError {
    #[error("cannot fit a model on {rows} rows with {labels} labels: every row needs one label")]
    LengthMismatch { rows: usize, labels: usize },
    #[error("cannot fit a model on no rows; label some accounts first")]
    Empty,
    #[error("feature column {column} has {len} values, expected {rows}")]
    Ragged {
        column: usize,
        len: usize,
        rows: usize,
    },
}

/// Hyper-parameters (names follow scikit-learn's).
#[derive(Clone, Debug, PartialEq)]
pub struct GbmParams {
    /// Boosting rounds.
    pub max_iter: usize,
    /// Shrinkage applied to each tree's leaves.
    pub learning_rate: f64,
    /// Leaves per tree at most.
    pub max_leaf_nodes: usize,
    /// Depth limit (root = 0); `None` for none.
    pub max_depth: Option<usize>,
    /// Rows per leaf at least.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values.
    pub l2_regularization: f64,
    /// Bins per feature (at most 255).
    pub max_bins: usize,
    /// Share of rows drawn (without replacement) for each tree; 1.0 uses all.
    pub subsample: f64,
    /// Seed for row subsampling.
    pub seed: u64,
}

impl Default for GbmParams {
    fn default() -> Self {
        Self {
            max_iter: 100,
            learning_rate: 0.1,
            max_leaf_nodes: 31,
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            subsample: 1.0,
            seed: 0,
        }
    }
}

const MIN_HESSIAN_TO_SPLIT: f64 = 1e-3;

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Split {
        feature: u32,
        threshold: f64,
        left: u32,
        right: u32,
    },
    Leaf(f64),
}

/// A fitted model.
#[derive(Clone, Debug, PartialEq)]
pub struct Gbm {
    base_score: f64,
    trees: Vec<Vec<Node>>,
    n_features: usize,
    gain_importance: Vec<f64>,
}

/// Per-feature bin thresholds: value `x` falls in bin `#{t : t < x}`.
struct Binner {
    thresholds: Vec<Vec<f64>>,
}

impl Binner {
    fn fit(columns: &[&[f32]], rows: &[u32], max_bins: usize) -> Self {
        let max_bins = max_bins.clamp(2, 255);
        let thresholds = columns
            .par_iter()
            .map(|col| {
                let mut v: Vec<f64> = rows.iter().map(|&r| f64::from(col[r as usize])).collect();
                v.sort_by(f64::total_cmp);
                let mut distinct = v.clone();
                distinct.dedup();
                if distinct.len() <= max_bins {
                    distinct.windows(2).map(|w| (w[0] + w[1]) * 0.5).collect()
                } else {
                    let mut t: Vec<f64> = (1..max_bins)
                        .map(|q| {
                            let i = (q * v.len() / max_bins).clamp(1, v.len() - 1);
                            (v[i - 1] + v[i]) * 0.5
                        })
                        .collect();
                    t.dedup();
                    t
                }
            })
            .collect();
        Self { thresholds }
    }

    fn bin(&self, f: usize, x: f32) -> u8 {
        let x = f64::from(x);
        self.thresholds[f].partition_point(|&t| t < x) as u8
    }
}

#[derive(Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

struct SplitInfo {
    gain: f64,
    feature: usize,
    bin: usize,
    left: (f64, f64, u32),
    right: (f64, f64, u32),
}

struct Grow {
    rows: Vec<u32>,
    hist: Vec<Vec<Bin>>,
    sums: (f64, f64, u32),
    depth: usize,
    split: Option<SplitInfo>,
    node_id: u32,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Gbm {
    /// Fits on `columns` (one slice per feature, all the same length) restricted to `rows`,
    /// with labels `y` (true = positive) and optional weights, both indexed like `rows`.
    pub fn fit(
        columns: &[&[f32]],
        rows: &[u32],
        y: &[bool],
        weights: Option<&[f64]>,
        params: &GbmParams,
    ) -> Result<Self, GbmError> {
        if rows.len() != y.len() {
            return Err(GbmError::LengthMismatch {
                rows: rows.len(),
                labels: y.len(),
            });
        }
        if rows.is_empty() {
            return Err(GbmError::Empty);
        }
        let n_total = columns.first().map_or(0, |c| c.len());
        for (i, c) in columns.iter().enumerate() {
            if c.len() != n_total {
                return Err(GbmError::Ragged {
                    column: i,
                    len: c.len(),
                    rows: n_total,
                });
            }
        }
        let nf = columns.len();
        let binner = Binner::fit(columns, rows, params.max_bins);
        let binned: Vec<Vec<u8>> = (0..nf)
            .into_par_iter()
            .map(|f| {
                rows.iter()
                    .map(|&r| binner.bin(f, columns[f][r as usize]))
                    .collect()
            })
            .collect();
        let n = rows.len();
        let w: Vec<f64> = weights.map_or_else(|| vec![1.0; n], |w| w.to_vec());
        let wsum: f64 = w.iter().sum();
        let pos: f64 = y.iter().zip(&w).filter(|(y, _)| **y).map(|(_, w)| w).sum();
        let p0 = (pos / wsum).clamp(1e-6, 1.0 - 1e-6);
        let base_score = (p0 / (1.0 - p0)).ln();
        let mut raw = vec![base_score; n];
        let mut model = Gbm {
            base_score,
            trees: Vec::new(),
            n_features: nf,
            gain_importance: vec![0.0; nf],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut g = vec![0f64; n];
        let mut h = vec![0f64; n];
        let all_rows: Vec<u32> = (0..n as u32).collect();
        for _ in 0..params.max_iter {
            for i in 0..n {
                let p = sigmoid(raw[i]);
                g[i] = (p - if y[i] { 1.0 } else { 0.0 }) * w[i];
                h[i] = p * (1.0 - p) * w[i];
            }
            let sample: Vec<u32> = if params.subsample < 1.0 {
                let k = ((n as f64 * params.subsample).round() as usize).clamp(1, n);
                let mut s = all_rows.clone();
                s.shuffle(&mut rng);
                s.truncate(k);
                s.sort_unstable();
                s
            } else {
                all_rows.clone()
            };
            let (tree, leaves) = grow_tree(
                &binned,
                &binner,
                &g,
                &h,
                sample,
                params,
                &mut model.gain_importance,
            );
            if params.subsample < 1.0 {
                for (i, r) in raw.iter_mut().enumerate() {
                    *r += predict_binned(&tree, &binned, &binner, i);
                }
            } else {
                for (rows_in_leaf, value) in leaves {
                    for r in rows_in_leaf {
                        raw[r as usize] += value;
                    }
                }
            }
            model.trees.push(tree);
        }
        Ok(model)
    }

    /// Raw score (log-odds) of row `r` of `columns`.
    pub fn decision(&self, columns: &[&[f32]], r: usize) -> f64 {
        let mut s = self.base_score;
        for tree in &self.trees {
            let mut k = 0usize;
            loop {
                match &tree[k] {
                    Node::Leaf(v) => {
                        s += v;
                        break;
                    }
                    Node::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } => {
                        let x = f64::from(columns[*feature as usize][r]);
                        k = if x <= *threshold { *left } else { *right } as usize;
                    }
                }
            }
        }
        s
    }

    /// Probability of the positive class for each of `rows`.
    pub fn predict_proba(&self, columns: &[&[f32]], rows: &[u32]) -> Vec<f64> {
        rows.par_iter()
            .map(|&r| sigmoid(self.decision(columns, r as usize)))
            .collect()
    }

    /// Total split gain per feature (how much each feature was used).
    pub fn gain_importance(&self) -> &[f64] {
        &self.gain_importance
    }

    /// Number of features the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

fn predict_binned(tree: &[Node], binned: &[Vec<u8>], binner: &Binner, i: usize) -> f64 {
    let mut k = 0usize;
    loop {
        match &tree[k] {
            Node::Leaf(v) => return *v,
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                let f = *feature as usize;
                // bin b holds values <= thresholds[b]; compare on bins to stay exact.
                let b = binned[f][i] as usize;
                let t_bin = binner.thresholds[f].partition_point(|&t| t < *threshold);
                k = if b <= t_bin { *left } else { *right } as usize;
            }
        }
    }
}

fn build_hist(
    binned: &[Vec<u8>],
    binner: &Binner,
    g: &[f64],
    h: &[f64],
    rows: &[u32],
) -> Vec<Vec<Bin>> {
    binned
        .par_iter()
        .enumerate()
        .map(|(f, col)| {
            let mut hist = vec![Bin::default(); binner.thresholds[f].len() + 1];
            for &r in rows {
                let b = &mut hist[col[r as usize] as usize];
                b.g += g[r as usize];
                b.h += h[r as usize];
                b.n += 1;
            }
            hist
        })
        .collect()
}

fn find_split(node: &Grow, params: &GbmParams) -> Option<SplitInfo> {
    let (gs, hs, ns) = node.sums;
    if node.rows.len() < 2 * params.min_samples_leaf || hs < MIN_HESSIAN_TO_SPLIT {
        return None;
    }
    if params.max_depth.is_some_and(|d| node.depth >= d) {
        return None;
    }
    let l2 = params.l2_regularization;
    let parent = gs * gs / (hs + l2);
    let mut best: Option<SplitInfo> = None;
    for (f, hist) in node.hist.iter().enumerate() {
        let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0u32);
        for (b, bin) in hist.iter().enumerate().take(hist.len().saturating_sub(1)) {
            gl += bin.g;
            hl += bin.h;
            nl += bin.n;
            let nr = ns - nl;
            if (nl as usize) < params.min_samples_leaf {
                continue;
            }
            if (nr as usize) < params.min_samples_leaf {
                break;
            }
            let (gr, hr) = (gs - gl, hs - hl);
            if hl < MIN_HESSIAN_TO_SPLIT || hr < MIN_HESSIAN_TO_SPLIT {
                continue;
            }
            let gain = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent;
            if gain > 0.0 && best.as_ref().is_none_or(|s| gain > s.gain) {
                best = Some(SplitInfo {
                    gain,
                    feature: f,
                    bin: b,
                    left: (gl, hl, nl),
                    right: (gr, hr, nr),
                });
            }
        }
    }
    best
}

fn leaf_value(sums: (f64, f64, u32), params: &GbmParams) -> f64 {
    -sums.0 / (sums.1 + params.l2_regularization + 1e-15) * params.learning_rate
}

/// Grows one tree best-first; returns it and the rows of each leaf with the leaf's value.
fn grow_tree(
    binned: &[Vec<u8>],
    binner: &Binner,
    g: &[f64],
    h: &[f64],
    rows: Vec<u32>,
    params: &GbmParams,
    importance: &mut [f64],
) -> (Vec<Node>, Vec<(Vec<u32>, f64)>) {
    let hist = build_hist(binned, binner, g, h, &rows);
    let sums = rows.iter().fold((0.0, 0.0, 0u32), |acc, &r| {
        (acc.0 + g[r as usize], acc.1 + h[r as usize], acc.2 + 1)
    });
    let mut nodes = vec![Node::Leaf(0.0)];
    let mut root = Grow {
        rows,
        hist,
        sums,
        depth: 0,
        split: None,
        node_id: 0,
    };
    root.split = find_split(&root, params);
    let mut open: Vec<Grow> = vec![root];
    let mut leaves: Vec<(Vec<u32>, f64)> = Vec::new();
    let mut n_leaves = 1usize;
    loop {
        // The open node with the best gain (first on ties, as in insertion order).
        let pick = open
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.split.as_ref().map(|s| (i, s.gain)))
            .fold(None::<(usize, f64)>, |best, (i, gain)| match best {
                Some((_, bg)) if bg >= gain => best,
                _ => Some((i, gain)),
            });
        let Some((i, _)) = pick.filter(|_| n_leaves < params.max_leaf_nodes) else {
            break;
        };
        let node = open.swap_remove(i);
        let Some(split) = node.split else {
            continue;
        };
        importance[split.feature] += split.gain;
        let col = &binned[split.feature];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = node
            .rows
            .iter()
            .partition(|&&r| (col[r as usize] as usize) <= split.bin);
        let small_is_left = left_rows.len() <= right_rows.len();
        let small_hist = build_hist(
            binned,
            binner,
            g,
            h,
            if small_is_left {
                &left_rows
            } else {
                &right_rows
            },
        );
        let big_hist: Vec<Vec<Bin>> = node
            .hist
            .iter()
            .zip(&small_hist)
            .map(|(p, s)| {
                p.iter()
                    .zip(s)
                    .map(|(p, s)| Bin {
                        g: p.g - s.g,
                        h: p.h - s.h,
                        n: p.n - s.n,
                    })
                    .collect()
            })
            .collect();
        let (left_hist, right_hist) = if small_is_left {
            (small_hist, big_hist)
        } else {
            (big_hist, small_hist)
        };
        let left_id = nodes.len() as u32;
        nodes.push(Node::Leaf(0.0));
        nodes.push(Node::Leaf(0.0));
        nodes[node.node_id as usize] = Node::Split {
            feature: split.feature as u32,
            threshold: binner.thresholds[split.feature][split.bin],
            left: left_id,
            right: left_id + 1,
        };
        n_leaves += 1;
        for (child_rows, hist, sums, id) in [
            (left_rows, left_hist, split.left, left_id),
            (right_rows, right_hist, split.right, left_id + 1),
        ] {
            let mut child = Grow {
                rows: child_rows,
                hist,
                sums,
                depth: node.depth + 1,
                split: None,
                node_id: id,
            };
            child.split = find_split(&child, params);
            open.push(child);
        }
    }
    for node in open {
        let value = leaf_value(node.sums, params);
        nodes[node.node_id as usize] = Node::Leaf(value);
        leaves.push((node.rows, value));
    }
    (nodes, leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stump_learns_a_threshold() {
        let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let y: Vec<bool> = (0..100).map(|i| i >= 60).collect();
        let rows: Vec<u32> = (0..100).collect();
        let params = GbmParams {
            max_iter: 50,
            max_leaf_nodes: 2,
            min_samples_leaf: 5,
            ..Default::default()
        };
        let m = Gbm::fit(&[&x], &rows, &y, None, &params).expect("fit");
        let p = m.predict_proba(&[&x], &rows);
        assert!(p[10] < 0.1 && p[90] > 0.9, "{} {}", p[10], p[90]);
        assert!((m.predict_proba(&[&x], &[59])[0] - p[10]).abs() < 1e-12);
    }

    #[test]
    fn fit_rejects_bad_shapes() {
        let x = vec![0.0f32; 3];
        assert!(matches!(
            Gbm::fit(&[&x], &[0, 1], &[true], None, &GbmParams::default()),
            Err(GbmError::LengthMismatch { .. })
        ));
        assert!(matches!(
            Gbm::fit(&[&x], &[], &[], None, &GbmParams::default()),
            Err(GbmError::Empty)
        ));
    }

    #[test]
    fn subsampled_fits_are_reproducible() {
        let x: Vec<f32> = (0..300).map(|i| ((i * 37) % 101) as f32).collect();
        let z: Vec<f32> = (0..300).map(|i| ((i * 11) % 7) as f32).collect();
        let y: Vec<bool> = (0..300)
            .map(|i| (i * 37) % 101 > 50 || i % 7 == 0)
            .collect();
        let rows: Vec<u32> = (0..300).collect();
        let params = GbmParams {
            subsample: 0.7,
            seed: 3,
            ..Default::default()
        };
        let a = Gbm::fit(&[&x, &z], &rows, &y, None, &params).expect("fit");
        let b = Gbm::fit(&[&x, &z], &rows, &y, None, &params).expect("fit");
        assert_eq!(a, b);
    }
}
