//! Scoring a workspace end to end: graph, detectors, features, grouped cross-validation, the
//! final fit (or the unsupervised score when labels are too few), clusters and reasons; then
//! `accounts.csv`, `clusters.csv` and `metrics.json`, and the latest run kept in SQLite.
//!
//! The CLI and the GUI both call [`score_workspace`]; nothing here knows about either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rusqlite::Connection;
use serde::Serialize;

use super::csr::UnionFind;
use super::dataset::{Dataset, DatasetError, Label};
use super::detect::{DetectOptions, Detections, Evidence, Typology, detect_all};
use super::features::{
    FeatureContext, FeatureMatrix, NeighbourModel, out_of_fold_label_features_with,
    structural_features,
};
use super::forwarding::{FORWARDED_SHARE, largest_forward};
use super::gbm::{Gbm, GbmError, GbmParams};
use super::graph::TxGraph;
use super::model::{
    Calibration, NO_FOLD, average_precision, calibration, grouped_folds, precision_at_k, roc_auc,
};
use super::reasons::{
    Reason, cluster_member_reason, describe, involves, labelled_neighbour_reason, money,
};

/// Candidate weights of the unsupervised score in the supervised blend.
const BLEND_WEIGHTS: [f64; 5] = [0.1, 0.2, 0.3, 0.4, 0.5];

/// Reasons kept per account or cluster.
const TOP_REASONS: usize = 3;

/// Errors scoring a workspace.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("fitting the model failed: {0}; re-run with `--unsupervised` to score without labels")]
    Model(#[from] GbmError),
    #[error("scoring was cancelled; nothing was written")]
    Cancelled,
    #[error("could not write {path}: {source}; check that the folder exists and is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "could not save the scores into the workspace: {0}; the CSV files are still valid — retry once no other program writes to the workspace"
    )]
    Persist(#[source] rusqlite::Error),
    #[error("invalid scoring option: {0}")]
    Option(String),
}

/// Which score is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Gradient-boosted trees trained on the workspace's labels.
    Supervised,
    /// Typology detectors, dense blocks and anomaly ranks, no labels used.
    Unsupervised,
}

impl ModelKind {
    /// "supervised" or "unsupervised".
    pub fn name(self) -> &'static str {
        match self {
            Self::Supervised => "supervised",
            Self::Unsupervised => "unsupervised",
        }
    }
}

/// Scoring settings.
#[derive(Clone, Debug)]
pub struct ScoreOptions {
    /// Seed for every random step; the same seed gives byte-identical output.
    pub seed: u64,
    /// Cross-validation folds.
    pub folds: usize,
    /// Inner folds for out-of-fold label features of training rows.
    pub inner_folds: usize,
    /// Fewer labelled accounts than this in either class means the unsupervised score.
    pub min_labels_per_class: usize,
    /// Force the unsupervised score even when labels exist.
    pub unsupervised: bool,
    /// Learner settings (its seed is derived from `seed`).
    pub gbm: GbmParams,
    /// Detector settings (its seed is derived from `seed`).
    pub detect: DetectOptions,
    /// Keep the final feature matrix in the report (for analysis tools).
    pub keep_features: bool,
    /// Rounds of the first-stage model behind the soft guilt-by-association features (0 = no
    /// first stage: unlabelled counterparties then carry no weight).
    pub neighbour_rounds: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            folds: 5,
            inner_folds: 2,
            min_labels_per_class: 5,
            unsupervised: false,
            gbm: GbmParams {
                max_iter: 120,
                learning_rate: 0.1,
                max_leaf_nodes: 15,
                min_samples_leaf: 10,
                l2_regularization: 1.0,
                subsample: 0.8,
                ..Default::default()
            },
            detect: DetectOptions::default(),
            keep_features: false,
            neighbour_rounds: 40,
        }
    }
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreStage {
    /// Reading the workspace.
    Loading,
    /// Aggregating the graph.
    Graph,
    /// Running the typology detectors.
    Detectors,
    /// Computing features.
    Features,
    /// Cross-validating: fold `.0` of `.1`.
    CrossValidation(usize, usize),
    /// Fitting the final model.
    FinalFit,
    /// Scoring clusters and writing reasons.
    Reasons,
    /// Finished.
    Done,
}

/// A progress message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreProgress {
    /// Current stage.
    pub stage: ScoreStage,
    /// Rough share of the run done, 0..=1.
    pub fraction: f32,
}

/// One account's result.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountScore {
    /// Dense index in the dataset.
    pub account: u32,
    /// `accounts.id`.
    pub db_id: i64,
    /// `accounts.ext_id`.
    pub ext_id: String,
    /// Suspicion in [0, 1], higher = more suspicious.
    pub score: f64,
    /// Primary cluster id, if the account is in any.
    pub cluster_id: Option<u32>,
    /// Top reasons, most important first.
    pub reasons: Vec<Reason>,
}

/// One cluster's result.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterScore {
    /// Id, 1.. in descending score order.
    pub id: u32,
    /// Suspicion in [0, 1].
    pub score: f64,
    /// Ring kind.
    pub typology: Typology,
    /// Member account indices (sorted).
    pub members: Vec<u32>,
    /// Top reasons.
    pub reasons: Vec<Reason>,
}

/// Precision at one cut-off.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrecisionAtK {
    /// Cut-off.
    pub k: usize,
    /// Share of fraud among the top `k`.
    pub precision: f64,
}

/// Cross-validated quality of the supervised model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CvMetrics {
    /// Folds used.
    pub folds: usize,
    /// How folds were formed.
    pub grouping: String,
    /// Labelled accounts with an out-of-fold score.
    pub evaluated: usize,
    /// Average precision (area under the precision-recall curve).
    pub pr_auc: Option<f64>,
    /// Area under the ROC curve.
    pub roc_auc: Option<f64>,
    /// Precision in the top k, k = number of fraud labels (R-precision).
    pub r_precision: Option<f64>,
    /// Precision at fixed cut-offs.
    pub precision_at_k: Vec<PrecisionAtK>,
    /// Calibration of the out-of-fold probabilities.
    pub calibration: Option<Calibration>,
    /// Weight of the unsupervised score in the blend, chosen on these folds (so the figures
    /// above are slightly optimistic).
    pub unsupervised_weight: f64,
}

/// Everything `metrics.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// "supervised" or "unsupervised".
    pub model: ModelKind,
    /// Why that model is in use.
    pub model_reason: String,
    /// The learner, when supervised.
    pub learner: Option<String>,
    /// Seed of the run.
    pub seed: u64,
    /// Accounts scored.
    pub accounts: usize,
    /// Transactions read.
    pub transactions: usize,
    /// Accounts labelled fraud.
    pub labelled_fraud: usize,
    /// Accounts labelled legit.
    pub labelled_legit: usize,
    /// Cross-validation, when supervised.
    pub cross_validation: Option<CvMetrics>,
    /// Candidate hits per typology.
    pub candidates: BTreeMap<String, usize>,
    /// Clusters reported.
    pub clusters: usize,
    /// Features by share of total split gain (top 15), when supervised.
    pub top_features: Vec<(String, f64)>,
    /// Bounds hit and other remarks.
    pub notes: Vec<String>,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct ScoreReport {
    /// One row per account, in dataset order.
    pub accounts: Vec<AccountScore>,
    /// Clusters, highest score first.
    pub clusters: Vec<ClusterScore>,
    /// Quality and provenance.
    pub metrics: Metrics,
    /// Wall-clock seconds per stage (not written to files, so output stays reproducible).
    pub timings_secs: Vec<(&'static str, f64)>,
    /// The final model's feature matrix, when [`ScoreOptions::keep_features`] asked for it.
    pub features: Option<FeatureMatrix>,
}

/// Reads the workspace and scores it.
pub fn score_workspace(
    conn: &Connection,
    opts: &ScoreOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(ScoreProgress),
) -> Result<ScoreReport, ScoreError> {
    progress(ScoreProgress {
        stage: ScoreStage::Loading,
        fraction: 0.0,
    });
    let t = Instant::now();
    let ds = Dataset::load(conn)?;
    let load_secs = t.elapsed().as_secs_f64();
    let mut report = score_dataset(&ds, opts, cancel, progress)?;
    report.timings_secs.insert(0, ("load", load_secs));
    Ok(report)
}

/// Everything computed before the model: shared by scoring, tests and benchmarks.
pub struct Prepared<'a> {
    /// The data.
    pub ds: &'a Dataset,
    /// Aggregated graphs.
    pub graph: &'a TxGraph,
    /// Detector output.
    pub det: &'a Detections,
    /// Feature context.
    pub ctx: FeatureContext<'a>,
    /// Structural features plus the unsupervised score.
    pub structural: FeatureMatrix,
    /// The unsupervised score per account.
    pub unsupervised: Vec<f64>,
}

/// Scores an in-memory dataset.
pub fn score_dataset(
    ds: &Dataset,
    opts: &ScoreOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(ScoreProgress),
) -> Result<ScoreReport, ScoreError> {
    if opts.folds < 2 {
        return Err(ScoreError::Option(format!(
            "--folds must be at least 2 (got {})",
            opts.folds
        )));
    }
    let check = || {
        if cancel.load(Ordering::Relaxed) {
            Err(ScoreError::Cancelled)
        } else {
            Ok(())
        }
    };
    let mut timings = Vec::new();
    let n = ds.n_accounts();
    progress(ScoreProgress {
        stage: ScoreStage::Graph,
        fraction: 0.05,
    });
    let t = Instant::now();
    let graph = TxGraph::build(ds);
    let money = graph.money_undirected(n);
    timings.push(("graph", t.elapsed().as_secs_f64()));
    check()?;
    progress(ScoreProgress {
        stage: ScoreStage::Detectors,
        fraction: 0.15,
    });
    let t = Instant::now();
    let mut dopts = opts.detect.clone();
    dopts.seed = opts.seed;
    let det = detect_all(ds, &graph, &money, &dopts, cancel).ok_or(ScoreError::Cancelled)?;
    timings.push(("detectors", t.elapsed().as_secs_f64()));
    check()?;
    progress(ScoreProgress {
        stage: ScoreStage::Features,
        fraction: 0.35,
    });
    let t = Instant::now();
    let ctx = FeatureContext::new(ds, &graph, &det, &money);
    let mut structural = structural_features(&ctx);
    let unsupervised = unsupervised_scores(&ctx, &structural);
    structural
        .columns
        .push(unsupervised.iter().map(|&x| x as f32).collect());
    structural.names.push("unsupervised_score".into());
    timings.push(("features", t.elapsed().as_secs_f64()));
    check()?;
    let prep = Prepared {
        ds,
        graph: &graph,
        det: &det,
        ctx,
        structural,
        unsupervised,
    };

    let (fraud, legit) = ds.label_counts();
    let mut notes = det.notes.clone();
    let min = opts.min_labels_per_class.max(1);
    let (model, model_reason) = if opts.unsupervised {
        (
            ModelKind::Unsupervised,
            "asked for the unsupervised score".to_string(),
        )
    } else if fraud == 0 && legit == 0 {
        (
            ModelKind::Unsupervised,
            "the workspace has no labels; import some with `sightline labels import` to train a model".to_string(),
        )
    } else if fraud < min || legit < min {
        (
            ModelKind::Unsupervised,
            format!(
                "too few labels to train ({fraud} fraud, {legit} legit; at least {min} of each are needed)"
            ),
        )
    } else {
        (
            ModelKind::Supervised,
            format!("trained on {fraud} fraud and {legit} legit labels"),
        )
    };

    let mut cv = None;
    let mut top_features = Vec::new();
    let kept;
    let scores: Vec<f64> = match model {
        ModelKind::Unsupervised => {
            kept = opts.keep_features.then(|| prep.structural.clone());
            prep.unsupervised.clone()
        }
        ModelKind::Supervised => {
            let t = Instant::now();
            let (c, cv_notes) = cross_validate(&prep, opts, cancel, progress)?;
            notes.extend(cv_notes);
            cv = Some(c);
            timings.push(("cross_validation", t.elapsed().as_secs_f64()));
            check()?;
            progress(ScoreProgress {
                stage: ScoreStage::FinalFit,
                fraction: 0.85,
            });
            let t = Instant::now();
            let (s, imp, fm) = final_fit(&prep, opts)?;
            let w = cv
                .as_ref()
                .map_or(0.0, |c: &CvMetrics| c.unsupervised_weight);
            let s: Vec<f64> = s
                .iter()
                .zip(&prep.unsupervised)
                .map(|(p, u)| (1.0 - w) * p + w * u)
                .collect();
            top_features = imp;
            kept = opts.keep_features.then_some(fm);
            timings.push(("final_fit", t.elapsed().as_secs_f64()));
            s
        }
    };
    check()?;
    progress(ScoreProgress {
        stage: ScoreStage::Reasons,
        fraction: 0.93,
    });
    let t = Instant::now();
    let (accounts, clusters) = assemble(&prep, &scores);
    timings.push(("reasons", t.elapsed().as_secs_f64()));
    let mut candidates = BTreeMap::new();
    for c in &det.candidates {
        *candidates.entry(c.typology.name().to_string()).or_insert(0) += 1;
    }
    let metrics = Metrics {
        model,
        model_reason,
        learner: (model == ModelKind::Supervised).then(|| {
            format!(
                "gradient-boosted trees (histogram, {} rounds, {} leaves, learning rate {})",
                opts.gbm.max_iter, opts.gbm.max_leaf_nodes, opts.gbm.learning_rate
            )
        }),
        seed: opts.seed,
        accounts: n,
        transactions: ds.tx.len(),
        labelled_fraud: fraud,
        labelled_legit: legit,
        cross_validation: cv,
        candidates,
        clusters: clusters.len(),
        top_features,
        notes,
    };
    progress(ScoreProgress {
        stage: ScoreStage::Done,
        fraction: 1.0,
    });
    Ok(ScoreReport {
        accounts,
        clusters,
        metrics,
        timings_secs: timings,
        features: kept,
    })
}

/// Detector weight by typology for the unsupervised score: how often such a hit is a real ring.
fn typology_weight(t: Typology) -> f64 {
    match t {
        Typology::CardTesting => 0.9,
        Typology::Cycle | Typology::ScatterGather => 0.8,
        Typology::SharedIdentity | Typology::GatherScatter | Typology::AccountTakeover => 0.7,
        Typology::FanIn | Typology::FanOut | Typology::DenseBlock | Typology::RapidRelay => 0.6,
        Typology::MoneyCommunity => 0.3,
    }
}

/// Columns where a high value is suspicious, for the anomaly part of the unsupervised score.
const ANOMALY_COLUMNS: &[&str] = &[
    "max_tx_1h",
    "pass_through",
    "declined_share",
    "fan_in_peak",
    "fan_out_peak",
    "cycles",
    "burst_attempts",
    "max_identifier_sharing",
    "scatter_gather_roles",
    "dense_block_density",
];

/// The strongest detector hit holding each account (weighted by typology), raised by how
/// unusual the account's activity is (mean upper-half percentile over [`ANOMALY_COLUMNS`]).
pub fn unsupervised_scores(ctx: &FeatureContext<'_>, fm: &FeatureMatrix) -> Vec<f64> {
    let n = ctx.ds.n_accounts();
    let mut anomaly = vec![0f64; n];
    let mut used = 0usize;
    for name in ANOMALY_COLUMNS {
        let Some(i) = fm.index_of(name) else { continue };
        let col = &fm.columns[i];
        let mut sorted: Vec<f32> = col.clone();
        sorted.sort_by(f32::total_cmp);
        let Some(&median) = sorted.get(n / 2) else {
            continue;
        };
        used += 1;
        for v in 0..n {
            let x = col[v];
            if x > median && x > 0.0 {
                let below = sorted.partition_point(|&s| s < x);
                anomaly[v] += below as f64 / n as f64;
            }
        }
    }
    if used > 0 {
        for a in &mut anomaly {
            *a /= used as f64;
        }
    }
    (0..n)
        .map(|v| {
            // The strongest hit decides; a second, different strong hit adds a little. Many
            // weak hits (a busy account) add nothing, unlike a noisy-OR. Hits count for the
            // accounts they hold, not for everybody merged into the same cluster.
            let mut best = 0.0f64;
            let mut second = 0.0f64;
            for (t, &strength) in Typology::ALL.iter().zip(&ctx.det.signals.hit_strength[v]) {
                let s = typology_weight(*t) * f64::from(strength);
                if s > best {
                    second = best;
                    best = s;
                } else if s > second {
                    second = s;
                }
            }
            let det = (best + 0.25 * second).min(1.0);
            (1.0 - (1.0 - det) * (1.0 - 0.3 * anomaly[v])).clamp(0.0, 1.0)
        })
        .collect()
}

/// Groups for cross-validation: connected components of the graph that joins accounts sharing
/// a non-hub identifier and the members of each account's primary candidate ring.
pub fn cv_groups(prep: &Prepared<'_>) -> Vec<u32> {
    let ds = prep.ds;
    let n = ds.n_accounts();
    let mut uf = UnionFind::new(n);
    let mut is_hub = vec![false; ds.entities.db_id.len()];
    for &h in &prep.det.hub_entities {
        is_hub[h as usize] = true;
    }
    let mut first_user: Vec<u32> = vec![u32::MAX; ds.entities.db_id.len()];
    for e in &ds.identity {
        if is_hub[e.entity as usize] {
            continue;
        }
        let f = &mut first_user[e.entity as usize];
        if *f == u32::MAX {
            *f = e.account;
        } else {
            uf.union(*f, e.account);
        }
    }
    let mut primary_of: Vec<Option<u32>> = vec![None; n];
    for (v, cl) in prep.ctx.account_clusters.iter().enumerate() {
        primary_of[v] = cl.first().copied();
    }
    let mut first_member: BTreeMap<u32, u32> = BTreeMap::new();
    for (v, p) in primary_of.iter().enumerate() {
        if let Some(c) = p {
            match first_member.get(c) {
                Some(&f) => {
                    uf.union(f, v as u32);
                }
                None => {
                    first_member.insert(*c, v as u32);
                }
            }
        }
    }
    uf.components().id
}

/// Whether every fold leaves fraud and legit labels to train on and fraud to test.
fn folds_usable(folds: &[u8], labels: &[Label], k: usize) -> bool {
    let mut fraud = vec![0usize; k];
    let mut total_fraud = 0usize;
    let mut legit = vec![0usize; k];
    let mut total_legit = 0usize;
    for (f, l) in folds.iter().zip(labels) {
        if *f == NO_FOLD {
            continue;
        }
        match l {
            Label::Fraud => {
                fraud[*f as usize] += 1;
                total_fraud += 1;
            }
            Label::Legit => {
                legit[*f as usize] += 1;
                total_legit += 1;
            }
            Label::Unknown => {}
        }
    }
    let with_fraud = fraud.iter().filter(|&&c| c > 0).count();
    with_fraud >= 2 && (0..k).all(|f| total_fraud - fraud[f] > 0 && total_legit - legit[f] > 0)
}

/// Folds grouped by the ring graph's components; when one component holds too much of the
/// fraud for that, by shared-identifier components alone; failing that, stratified random
/// folds (said so in the notes).
fn choose_folds(prep: &Prepared<'_>, opts: &ScoreOptions) -> (Vec<u8>, String, Vec<String>) {
    let ds = prep.ds;
    let groups = cv_groups(prep);
    let folds = grouped_folds(&groups, &ds.labels, opts.folds, opts.seed);
    if folds_usable(&folds, &ds.labels, opts.folds) {
        return (
            folds,
            "connected components of shared non-hub identifiers and primary candidate rings".into(),
            Vec::new(),
        );
    }
    let mut uf = UnionFind::new(ds.n_accounts());
    for e in identity_links(prep) {
        uf.union(e.0, e.1);
    }
    let groups = uf.components().id;
    let folds = grouped_folds(&groups, &ds.labels, opts.folds, opts.seed);
    let note = "one candidate ring held too many fraud labels to keep rings whole across folds"
        .to_string();
    if folds_usable(&folds, &ds.labels, opts.folds) {
        return (
            folds,
            "connected components of shared non-hub identifiers".into(),
            vec![note],
        );
    }
    let singletons: Vec<u32> = (0..ds.n_accounts() as u32).collect();
    let folds = grouped_folds(&singletons, &ds.labels, opts.folds, opts.seed);
    (
        folds,
        "stratified random folds (components too uneven to group)".into(),
        vec![
            note,
            "cross-validation fell back to ungrouped folds, so its figures are optimistic".into(),
        ],
    )
}

/// Pairs of accounts sharing a non-hub identifier (each account linked to the identifier's
/// first user).
fn identity_links(prep: &Prepared<'_>) -> Vec<(u32, u32)> {
    let ds = prep.ds;
    let mut first_user: Vec<u32> = vec![u32::MAX; ds.entities.db_id.len()];
    let mut out = Vec::new();
    for e in &ds.identity {
        if prep.det.hub_entities.binary_search(&e.entity).is_ok() {
            continue;
        }
        let f = &mut first_user[e.entity as usize];
        if *f == u32::MAX {
            *f = e.account;
        } else {
            out.push((*f, e.account));
        }
    }
    out
}

/// The cross-validation groups and folds `score_dataset` would use (for tests and tools).
pub fn cv_fold_assignment(ds: &Dataset, opts: &ScoreOptions) -> (Vec<u32>, Vec<u8>) {
    let graph = TxGraph::build(ds);
    let money = graph.money_undirected(ds.n_accounts());
    let Some(det) = detect_all(ds, &graph, &money, &opts.detect, &AtomicBool::new(false)) else {
        return (Vec::new(), Vec::new());
    };
    let ctx = FeatureContext::new(ds, &graph, &det, &money);
    let prep = Prepared {
        ds,
        graph: &graph,
        det: &det,
        ctx,
        structural: FeatureMatrix::default(),
        unsupervised: Vec::new(),
    };
    let groups = cv_groups(&prep);
    let folds = grouped_folds(&groups, &ds.labels, opts.folds, opts.seed);
    (groups, folds)
}

/// The first-stage model for soft guilt by association: a small boosted model on the
/// structural columns (it is refitted inside every fold on that fold's visible labels).
fn neighbour_model<'a>(
    prep: &'a Prepared<'_>,
    opts: &ScoreOptions,
    seed: u64,
) -> Option<NeighbourModel<'a>> {
    (opts.neighbour_rounds > 0).then(|| NeighbourModel {
        columns: prep.structural.slices(),
        params: GbmParams {
            max_iter: opts.neighbour_rounds,
            learning_rate: 0.15,
            seed: seed ^ 0x5eed_f157,
            ..opts.gbm.clone()
        },
    })
}

fn columns_of<'a>(a: &'a FeatureMatrix, b: &'a FeatureMatrix) -> Vec<&'a [f32]> {
    let mut c = a.slices();
    c.extend(b.slices());
    c
}

fn cross_validate(
    prep: &Prepared<'_>,
    opts: &ScoreOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(ScoreProgress),
) -> Result<(CvMetrics, Vec<String>), ScoreError> {
    let ds = prep.ds;
    let (folds, grouping, mut notes) = choose_folds(prep, opts);
    let mut oof: Vec<(u32, f64)> = Vec::new();
    for f in 0..opts.folds as u8 {
        if cancel.load(Ordering::Relaxed) {
            return Err(ScoreError::Cancelled);
        }
        progress(ScoreProgress {
            stage: ScoreStage::CrossValidation(f as usize + 1, opts.folds),
            fraction: 0.4 + 0.45 * f32::from(f) / opts.folds as f32,
        });
        let test: Vec<u32> = (0..ds.n_accounts() as u32)
            .filter(|&v| folds[v as usize] == f)
            .collect();
        let train: Vec<u32> = (0..ds.n_accounts() as u32)
            .filter(|&v| folds[v as usize] != f && folds[v as usize] != NO_FOLD)
            .collect();
        let y: Vec<bool> = train
            .iter()
            .map(|&v| ds.labels[v as usize] == Label::Fraud)
            .collect();
        if test.is_empty() || y.iter().all(|b| *b) || y.iter().all(|b| !*b) {
            notes.push(format!("cross-validation fold {} skipped: its training part has one class only or it is empty", f + 1));
            continue;
        }
        let mut known = ds.labels.clone();
        for &v in &test {
            known[v as usize] = Label::Unknown;
        }
        let seed = opts.seed.wrapping_add(u64::from(f) + 1);
        let t = Instant::now();
        let first = neighbour_model(prep, opts, seed);
        let lf = out_of_fold_label_features_with(
            &prep.ctx,
            &known,
            &train,
            opts.inner_folds,
            seed,
            first.as_ref(),
        );
        let label_secs = t.elapsed().as_secs_f64();
        let cols = columns_of(&prep.structural, &lf);
        let params = GbmParams {
            seed,
            ..opts.gbm.clone()
        };
        let t = Instant::now();
        let model = Gbm::fit(&cols, &train, &y, None, &params)?;
        let fit_secs = t.elapsed().as_secs_f64();
        let p = model.predict_proba(&cols, &test);
        tracing::debug!(
            fold = f,
            label_secs,
            fit_secs,
            train = train.len(),
            test = test.len(),
            "cross-validation fold"
        );
        oof.extend(test.iter().copied().zip(p));
    }
    oof.sort_by_key(|x| x.0);
    let y: Vec<bool> = oof
        .iter()
        .map(|x| ds.labels[x.0 as usize] == Label::Fraud)
        .collect();
    // The weight of the unsupervised score in the final blend: the one that ranks the
    // out-of-fold accounts best (it carries typologies the labels have not shown yet).
    let blend = |w: f64| -> Vec<f64> {
        oof.iter()
            .map(|&(v, p)| (1.0 - w) * p + w * prep.unsupervised[v as usize])
            .collect()
    };
    let mut best = (0.0, average_precision(&blend(0.0), &y).unwrap_or(0.0));
    for w in BLEND_WEIGHTS {
        let ap = average_precision(&blend(w), &y).unwrap_or(0.0);
        if ap > best.1 + 1e-9 {
            best = (w, ap);
        }
    }
    let scores = blend(best.0);
    let positives = y.iter().filter(|b| **b).count();
    let ks = [10usize, 50, 100, 500];
    Ok((
        CvMetrics {
            folds: opts.folds,
            grouping,
            evaluated: scores.len(),
            pr_auc: average_precision(&scores, &y),
            roc_auc: roc_auc(&scores, &y),
            r_precision: precision_at_k(&scores, &y, positives),
            precision_at_k: ks
                .iter()
                .filter(|&&k| k <= scores.len())
                .filter_map(|&k| {
                    precision_at_k(&scores, &y, k).map(|precision| PrecisionAtK { k, precision })
                })
                .collect(),
            calibration: calibration(&scores, &y),
            unsupervised_weight: best.0,
        },
        notes,
    ))
}

/// The final model's scores for every account, its top features by gain, and its features.
type FinalFit = (Vec<f64>, Vec<(String, f64)>, FeatureMatrix);

fn final_fit(prep: &Prepared<'_>, opts: &ScoreOptions) -> Result<FinalFit, ScoreError> {
    let ds = prep.ds;
    let labelled: Vec<u32> = (0..ds.n_accounts() as u32)
        .filter(|&v| ds.labels[v as usize] != Label::Unknown)
        .collect();
    let y: Vec<bool> = labelled
        .iter()
        .map(|&v| ds.labels[v as usize] == Label::Fraud)
        .collect();
    let first = neighbour_model(prep, opts, opts.seed);
    let lf = out_of_fold_label_features_with(
        &prep.ctx,
        &ds.labels,
        &labelled,
        opts.inner_folds,
        opts.seed,
        first.as_ref(),
    );
    let cols = columns_of(&prep.structural, &lf);
    let params = GbmParams {
        seed: opts.seed,
        ..opts.gbm.clone()
    };
    let model = Gbm::fit(&cols, &labelled, &y, None, &params)?;
    let all: Vec<u32> = (0..ds.n_accounts() as u32).collect();
    let scores = model.predict_proba(&cols, &all);
    let names: Vec<&String> = prep.structural.names.iter().chain(&lf.names).collect();
    let total: f64 = model.gain_importance().iter().sum();
    let mut imp: Vec<(String, f64)> = model
        .gain_importance()
        .iter()
        .enumerate()
        .map(|(i, g)| {
            (
                names[i].clone(),
                if total > 0.0 {
                    (g / total * 1e4).round() / 1e4
                } else {
                    0.0
                },
            )
        })
        .collect();
    imp.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    imp.truncate(15);
    let mut fm = prep.structural.clone();
    fm.names.extend(lf.names);
    fm.columns.extend(lf.columns);
    Ok((scores, imp, fm))
}

fn clean(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Cluster scores, primary clusters and reasons.
fn assemble(prep: &Prepared<'_>, scores: &[f64]) -> (Vec<AccountScore>, Vec<ClusterScore>) {
    let ds = prep.ds;
    let n = ds.n_accounts();
    let det = prep.det;
    let scores: Vec<f64> = scores.iter().map(|&s| clean(s)).collect();
    // Cluster score: half the best member, half the mean, nudged by the detector's strength.
    let mut order: Vec<(usize, f64)> = det
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let k = c.members.len().max(1) as f64;
            let mean = c.members.iter().map(|&m| scores[m as usize]).sum::<f64>() / k;
            let max = c
                .members
                .iter()
                .map(|&m| scores[m as usize])
                .fold(0.0, f64::max);
            (i, clean(0.45 * max + 0.45 * mean + 0.1 * c.strength))
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut clusters = Vec::with_capacity(order.len());
    let mut primary: Vec<Option<u32>> = vec![None; n];
    let mut account_clusters: Vec<Vec<usize>> = vec![Vec::new(); n]; // positions in `clusters`
    for (pos, &(i, score)) in order.iter().enumerate() {
        let c = &det.clusters[i];
        let id = pos as u32 + 1;
        for &m in &c.members {
            if primary[m as usize].is_none() {
                primary[m as usize] = Some(id);
            }
            if account_clusters[m as usize].len() < 4 {
                account_clusters[m as usize].push(pos);
            }
        }
        let reasons: Vec<Reason> = c
            .evidence
            .iter()
            .take(TOP_REASONS)
            .map(|e| Reason {
                text: describe(ds, e),
                weight: c.strength,
                evidence: Some(e.clone()),
            })
            .collect();
        clusters.push(ClusterScore {
            id,
            score,
            typology: c.typology,
            members: c.members.clone(),
            reasons,
        });
    }
    let fm = &prep.structural;
    let accounts: Vec<AccountScore> = (0..n as u32)
        .map(|v| {
            let mut reasons: Vec<Reason> = Vec::new();
            let mut member_of: Option<Reason> = None;
            for &pos in &account_clusters[v as usize] {
                let c = &clusters[pos];
                let evidence = &det.clusters[order[pos].0].evidence;
                if let Some(e) = evidence.iter().find(|e| involves(ds, e, v)) {
                    reasons.push(Reason {
                        text: describe(ds, e),
                        weight: c.score * typology_weight(c.typology),
                        evidence: Some(e.clone()),
                    });
                } else if let Some(e) = evidence.first().filter(|_| member_of.is_none()) {
                    // The account is in the cluster without being named by its evidence: the
                    // cluster's evidence is said to be the cluster's, and shown only when the
                    // account has no reason of its own.
                    member_of = Some(Reason {
                        text: cluster_member_reason(
                            ds,
                            c.id,
                            c.members.len(),
                            c.typology.name(),
                            e,
                        ),
                        weight: 0.5 * c.score * typology_weight(c.typology),
                        evidence: Some(e.clone()),
                    });
                }
            }
            let money_nbrs = prep.ctx.money.neighbors(v);
            let ident_nbrs = identity_neighbours(prep, v);
            if let Some(r) = labelled_neighbour_reason(ds, v, money_nbrs, &ident_nbrs) {
                reasons.push(r);
            }
            reasons.extend(behaviour_reasons(ds, fm, v, det.events.of(v)));
            if reasons.is_empty() {
                reasons.extend(member_of);
            }
            reasons.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.text.cmp(&b.text)));
            reasons.dedup_by(|a, b| a.text == b.text);
            reasons.truncate(TOP_REASONS);
            if reasons.is_empty() {
                reasons.push(Reason {
                    text: format!(
                        "no ring pattern or labelled neighbour found: {} transfers out, {} in",
                        (fm.get("out_tx", v) as f64).exp_m1().round(),
                        (fm.get("in_tx", v) as f64).exp_m1().round()
                    ),
                    weight: 0.0,
                    evidence: None,
                });
            }
            AccountScore {
                account: v,
                db_id: ds.accounts.db_id[v as usize],
                ext_id: ds.accounts.ext_id[v as usize].clone(),
                score: scores[v as usize],
                cluster_id: primary[v as usize],
                reasons,
            }
        })
        .collect();
    (accounts, clusters)
}

fn identity_neighbours(prep: &Prepared<'_>, v: u32) -> Vec<u32> {
    let ds = prep.ds;
    let lo = ds.identity.partition_point(|e| e.account < v);
    let hi = ds.identity.partition_point(|e| e.account <= v);
    let mut out = Vec::new();
    for e in &ds.identity[lo..hi] {
        if prep.det.hub_entities.binary_search(&e.entity).is_ok() {
            continue;
        }
        out.extend(
            prep.ctx
                .entity_users(e.entity)
                .iter()
                .copied()
                .filter(|&u| u != v),
        );
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Smallest amount passed on that a forwarding reason reports (in the data's currency).
const FORWARD_REASON_MIN_AMOUNT: f64 = 500.0;

/// Reasons from the account's own behaviour; `events` are its transactions in time order.
fn behaviour_reasons(ds: &Dataset, fm: &FeatureMatrix, v: u32, events: &[u32]) -> Vec<Reason> {
    let mut out = Vec::new();
    let forwarded_share = fm.get("received_forwarded_share", v);
    let forwarded = (fm.get("received_forwarded_max", v) as f64).exp_m1();
    let mut trail = false;
    if forwarded_share >= FORWARDED_SHARE as f32
        && forwarded >= FORWARD_REASON_MIN_AMOUNT
        && let Some(e) = largest_forward(ds, v, events)
    {
        out.push(Reason {
            text: describe(ds, &e),
            weight: 0.3,
            evidence: Some(e),
        });
        trail = true;
    }
    let max_1h = fm.get("max_tx_1h", v);
    if max_1h >= 10.0 {
        out.push(Reason {
            text: format!("{max_1h:.0} transactions within one hour"),
            weight: 0.2 + 0.01 * f64::from(max_1h.min(30.0)),
            evidence: None,
        });
    }
    let pass = fm.get("pass_through", v);
    let received = (fm.get("in_amount", v) as f64).exp_m1();
    if pass >= 0.9 && received >= 1_000.0 && !trail {
        let dwell = fm.get("dwell_hours", v);
        let dwell_text = if dwell >= 0.0 {
            format!(
                ", typically {:.0} h after it arrived",
                (f64::from(dwell)).exp_m1()
            )
        } else {
            String::new()
        };
        out.push(Reason {
            text: format!(
                "passed on {:.0}% of the {} it received{dwell_text}",
                f64::from(pass) * 100.0,
                money(received)
            ),
            weight: 0.25,
            evidence: None,
        });
    }
    let declined_share = fm.get("declined_share", v);
    let declined = (fm.get("declined", v) as f64).exp_m1().round();
    if declined >= 3.0 && declined_share >= 0.5 {
        out.push(Reason {
            text: format!(
                "{declined:.0} declined attempts ({:.0}% of its transactions)",
                f64::from(declined_share) * 100.0
            ),
            weight: 0.3,
            evidence: None,
        });
    }
    out
}

impl ScoreReport {
    /// The `accounts.csv` text.
    pub fn accounts_csv(&self) -> String {
        let mut out = String::from("account_id,score,cluster_id,reasons\n");
        for a in &self.accounts {
            out.push_str(&csv_field(&a.ext_id));
            out.push_str(&format!(",{:.6},", a.score));
            if let Some(c) = a.cluster_id {
                out.push_str(&c.to_string());
            }
            out.push(',');
            out.push_str(&quoted(&join_reasons(&a.reasons)));
            out.push('\n');
        }
        out
    }

    /// The `clusters.csv` text.
    pub fn clusters_csv(&self, ds_ext_ids: &[String]) -> String {
        let mut out = String::from("cluster_id,score,size,typology,members,reasons\n");
        for c in &self.clusters {
            let members: Vec<&str> = c
                .members
                .iter()
                .map(|&m| ds_ext_ids[m as usize].as_str())
                .collect();
            out.push_str(&format!(
                "{},{:.6},{},{},{},{}\n",
                c.id,
                c.score,
                c.members.len(),
                c.typology.name(),
                quoted(&members.join(";")),
                quoted(&join_reasons(&c.reasons))
            ));
        }
        out
    }

    /// The `metrics.json` text.
    pub fn metrics_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.metrics)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }

    /// Writes the three files into `dir` (created if missing), each atomically: written to a
    /// temporary file beside it, then renamed over the old one.
    pub fn write_dir(&self, dir: &Path) -> Result<(), ScoreError> {
        std::fs::create_dir_all(dir).map_err(|source| ScoreError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let ext_ids: Vec<String> = self.ext_ids();
        write_atomic(&dir.join("accounts.csv"), &self.accounts_csv())?;
        write_atomic(&dir.join("clusters.csv"), &self.clusters_csv(&ext_ids))?;
        write_atomic(&dir.join("metrics.json"), &self.metrics_json())?;
        Ok(())
    }

    /// External ids by account index.
    pub fn ext_ids(&self) -> Vec<String> {
        let mut ids = vec![String::new(); self.accounts.len()];
        for a in &self.accounts {
            ids[a.account as usize] = a.ext_id.clone();
        }
        ids
    }

    /// Keeps this run as the workspace's latest scores (older runs are dropped), in one
    /// transaction, so the explorer can show them without rescoring.
    pub fn persist(&self, conn: &Connection, created_at_secs: i64) -> Result<(), ScoreError> {
        let tx = conn.unchecked_transaction().map_err(ScoreError::Persist)?;
        let run = (|| -> rusqlite::Result<()> {
            tx.execute("DELETE FROM score_runs", [])?;
            tx.execute(
                "INSERT INTO score_runs(created_at, model, seed, metrics_json) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![created_at_secs, self.metrics.model.name(), self.metrics.seed as i64, self.metrics_json()],
            )?;
            let run_id = tx.last_insert_rowid();
            {
                let mut st = tx.prepare(
                    "INSERT INTO account_scores(run_id, account_id, score, cluster_id, reasons) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for a in &self.accounts {
                    let reasons: Vec<&str> = a.reasons.iter().map(|r| r.text.as_str()).collect();
                    st.execute(rusqlite::params![
                        run_id,
                        a.db_id,
                        a.score,
                        a.cluster_id,
                        serde_json::to_string(&reasons).unwrap_or_default()
                    ])?;
                }
            }
            let db_ids: Vec<i64> = {
                let mut ids = vec![0i64; self.accounts.len()];
                for a in &self.accounts {
                    ids[a.account as usize] = a.db_id;
                }
                ids
            };
            let mut st = tx.prepare(
                "INSERT INTO score_clusters(run_id, cluster_id, score, typology, size, reasons) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut sm = tx.prepare(
                "INSERT INTO score_cluster_members(run_id, cluster_id, account_id) VALUES (?1, ?2, ?3)",
            )?;
            for c in &self.clusters {
                let reasons: Vec<&str> = c.reasons.iter().map(|r| r.text.as_str()).collect();
                st.execute(rusqlite::params![
                    run_id,
                    c.id,
                    c.score,
                    c.typology.name(),
                    c.members.len() as i64,
                    serde_json::to_string(&reasons).unwrap_or_default()
                ])?;
                for &m in &c.members {
                    sm.execute(rusqlite::params![run_id, c.id, db_ids[m as usize]])?;
                }
            }
            Ok(())
        })();
        run.map_err(ScoreError::Persist)?;
        tx.commit().map_err(ScoreError::Persist)
    }
}

fn join_reasons(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| r.text.replace(';', ","))
        .collect::<Vec<_>>()
        .join("; ")
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r', ';']) {
        quoted(s)
    } else {
        s.to_string()
    }
}

fn write_atomic(path: &Path, text: &str) -> Result<(), ScoreError> {
    let tmp = path.with_extension("tmp");
    let err = |source| ScoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Transaction indices behind a piece of evidence (for checks and drill-down).
pub fn evidence_transactions(ev: &Evidence) -> Vec<u32> {
    match ev {
        Evidence::Cycle { tx, .. }
        | Evidence::Takeover { tx, .. }
        | Evidence::ScatterGather { tx, .. }
        | Evidence::CardBurst { tx, .. } => tx.clone(),
        Evidence::FanIn(h) | Evidence::FanOut(h) => h.tx.clone(),
        Evidence::GatherScatter { gather, scatter } => {
            let mut t = gather.tx.clone();
            t.extend(&scatter.tx);
            t
        }
        Evidence::Forwarded {
            receipt, onward, ..
        } => std::iter::once(*receipt)
            .chain(onward.iter().copied())
            .collect(),
        Evidence::SharedEntity { .. }
        | Evidence::SimilarIdentifiers { .. }
        | Evidence::DenseBlock { .. }
        | Evidence::Community { .. } => Vec::new(),
    }
}
