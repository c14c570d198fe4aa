//! Evaluation helpers for the supervised model: folds grouped by connected component, and the
//! ranking and calibration metrics written to `metrics.json`.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::dataset::Label;

/// "Not in any fold" (unlabelled accounts).
pub const NO_FOLD: u8 = u8::MAX;

/// Assigns each labelled account a fold so that all labelled accounts of one group share a
/// fold. Groups are dealt largest first (seeded order among equals) to the fold with the
/// fewest of the group's majority class, which keeps every fold's fraud count balanced.
pub fn grouped_folds(groups: &[u32], labels: &[Label], k: usize, seed: u64) -> Vec<u8> {
    let k = k.clamp(2, 64);
    let n_groups = groups.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut counts = vec![(0u32, 0u32); n_groups];
    for (v, l) in labels.iter().enumerate() {
        match l {
            Label::Fraud => counts[groups[v] as usize].0 += 1,
            Label::Legit => counts[groups[v] as usize].1 += 1,
            Label::Unknown => {}
        }
    }
    let mut order: Vec<u32> = (0..n_groups as u32)
        .filter(|&g| counts[g as usize] != (0, 0))
        .collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0xf01d));
    order.sort_by_key(|&g| {
        let (f, l) = counts[g as usize];
        std::cmp::Reverse((f, f + l))
    });
    let mut fold_load = vec![(0u32, 0u32); k];
    let mut fold_of_group = vec![NO_FOLD; n_groups];
    for g in order {
        let (f, l) = counts[g as usize];
        let best = (0..k)
            .min_by_key(|&i| {
                let (ff, fl) = fold_load[i];
                if f > 0 { (ff, ff + fl) } else { (fl, ff + fl) }
            })
            .unwrap_or(0);
        fold_load[best].0 += f;
        fold_load[best].1 += l;
        fold_of_group[g as usize] = best as u8;
    }
    labels
        .iter()
        .enumerate()
        .map(|(v, l)| {
            if *l == Label::Unknown {
                NO_FOLD
            } else {
                fold_of_group[groups[v] as usize]
            }
        })
        .collect()
}

/// Indices of `scores` sorted by descending score, ties by ascending index.
fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Average precision (area under the precision-recall curve, step-wise, ties grouped), as
/// scikit-learn's `average_precision_score`. `None` without positives.
pub fn average_precision(scores: &[f64], y: &[bool]) -> Option<f64> {
    let positives = y.iter().filter(|b| **b).count();
    if positives == 0 {
        return None;
    }
    let idx = ranking(scores);
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]] == s {
            if y[idx[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let recall = tp as f64 / positives as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - last_recall) * precision;
        last_recall = recall;
    }
    Some(ap)
}

/// Area under the ROC curve (Mann-Whitney, ties count half). `None` with one class only.
pub fn roc_auc(scores: &[f64], y: &[bool]) -> Option<f64> {
    let pos = y.iter().filter(|b| **b).count();
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        for &t in &idx[i..j] {
            if y[t] {
                rank_sum += avg_rank;
            }
        }
        i = j;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

/// Share of positives among the `k` highest scores (ties by index).
pub fn precision_at_k(scores: &[f64], y: &[bool], k: usize) -> Option<f64> {
    if k == 0 || scores.is_empty() {
        return None;
    }
    let idx = ranking(scores);
    let k = k.min(idx.len());
    Some(idx[..k].iter().filter(|&&i| y[i]).count() as f64 / k as f64)
}

/// One reliability bin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Lower edge of the predicted-probability bin.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Rows in it.
    pub count: usize,
    /// Mean prediction.
    pub mean_score: f64,
    /// Observed share of fraud.
    pub fraud_rate: f64,
}

/// Calibration summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// Expected calibration error over the bins (count-weighted |mean score - fraud rate|).
    pub ece: f64,
    /// Ten equal-width bins (empty ones left out).
    pub bins: Vec<CalibrationBin>,
}

/// Brier score and a ten-bin reliability table. `None` on no rows.
pub fn calibration(scores: &[f64], y: &[bool]) -> Option<Calibration> {
    if scores.is_empty() {
        return None;
    }
    let n = scores.len() as f64;
    let brier = scores
        .iter()
        .zip(y)
        .map(|(s, y)| (s - if *y { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / n;
    let mut acc = [(0usize, 0.0f64, 0usize); 10];
    for (s, y) in scores.iter().zip(y) {
        let b = ((s * 10.0).floor() as usize).min(9);
        acc[b].0 += 1;
        acc[b].1 += s;
        acc[b].2 += usize::from(*y);
    }
    let mut bins = Vec::new();
    let mut ece = 0.0;
    for (b, (count, sum, pos)) in acc.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        let mean_score = sum / *count as f64;
        let fraud_rate = *pos as f64 / *count as f64;
        ece += (*count as f64 / n) * (mean_score - fraud_rate).abs();
        bins.push(CalibrationBin {
            from: b as f64 / 10.0,
            to: (b + 1) as f64 / 10.0,
            count: *count,
            mean_score,
            fraud_rate,
        });
    }
    Some(Calibration { brier, ece, bins })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_matches_hand_computation() {
        // Ranking: P N P N → precision at recalls 0.5 and 1.0: 1 and 2/3.
        let s = [0.9, 0.8, 0.7, 0.1];
        let y = [true, false, true, false];
        let ap = average_precision(&s, &y).unwrap_or(0.0);
        assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        assert_eq!(average_precision(&s, &[false; 4]), None);
    }

    #[test]
    fn roc_auc_counts_ties_half() {
        assert_eq!(roc_auc(&[0.9, 0.1], &[true, false]), Some(1.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, true]), None);
    }

    #[test]
    fn precision_at_k_and_calibration() {
        let s = [0.9, 0.8, 0.2, 0.1];
        let y = [true, false, true, false];
        assert_eq!(precision_at_k(&s, &y, 2), Some(0.5));
        let c = calibration(&s, &y).expect("rows");
        assert!((c.brier - (0.01 + 0.64 + 0.64 + 0.01) / 4.0).abs() < 1e-12);
        assert_eq!(c.bins.iter().map(|b| b.count).sum::<usize>(), 4);
    }

    #[test]
    fn grouped_folds_keep_groups_together_and_skip_unknown() {
        let groups = [0, 0, 1, 1, 2, 3, 3, 4];
        let labels = [
            Label::Fraud,
            Label::Legit,
            Label::Fraud,
            Label::Unknown,
            Label::Legit,
            Label::Fraud,
            Label::Fraud,
            Label::Legit,
        ];
        let f = grouped_folds(&groups, &labels, 2, 1);
        assert_eq!(f[0], f[1]);
        assert_eq!(f[5], f[6]);
        assert_eq!(f[3], NO_FOLD);
        assert!(f.contains(&0) && f.contains(&1));
    }
}
