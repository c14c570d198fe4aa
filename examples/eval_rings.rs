//! Ring-detection quality on held-out labels: ingests a dataset without its labels, reveals a
//! stratified share of accounts' labels through `labels import`, scores, and reports average
//! precision, ROC-AUC, R-precision and (when ring ids are known) ring recall on the accounts
//! whose labels stayed hidden. `scripts/eval-rings.sh` runs it; see that script for usage.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use sightline::fraud::ingest;
use sightline::fraud::model::{average_precision, precision_at_k, roc_auc};
use sightline::fraud::{ScoreOptions, score_workspace};
use sightline::store::{OpenMode, Workspace};

struct Truth {
    /// Fraud flag per account ext id.
    fraud: HashMap<String, bool>,
    /// Ring id → member ext ids (empty when the data has no ring ids).
    rings: BTreeMap<String, Vec<String>>,
    /// Ring id → typology (when the truth names one).
    typology: BTreeMap<String, String>,
}

struct Args {
    name: String,
    preset: String,
    files: Vec<PathBuf>,
    truth_nodes: Option<PathBuf>,
    truth_rings: Option<PathBuf>,
    seeds: Vec<u64>,
    reveal: f64,
    modes: Vec<bool>, // true = supervised
    dump: Option<PathBuf>,
    generate: Option<String>,
    tweak: Vec<(String, String)>,
    misses: bool,
    /// Print ring recall per typology.
    typologies: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        name: "dataset".into(),
        preset: "auto".into(),
        files: Vec::new(),
        truth_nodes: None,
        truth_rings: None,
        seeds: vec![1, 2, 3],
        reveal: 0.3,
        modes: vec![true, false],
        dump: None,
        generate: None,
        tweak: Vec::new(),
        misses: false,
        typologies: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().context("missing value");
        match arg.as_str() {
            "--name" => a.name = val()?,
            "--preset" => a.preset = val()?,
            "--truth-nodes" => a.truth_nodes = Some(val()?.into()),
            "--truth-rings" => a.truth_rings = Some(val()?.into()),
            "--seeds" => {
                a.seeds = val()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--reveal" => a.reveal = val()?.parse()?,
            "--supervised-only" => a.modes = vec![true],
            "--dump-features" => a.dump = Some(val()?.into()),
            "--generate" => a.generate = Some(val()?),
            "--set" => {
                let kv = val()?;
                let (k, v) = kv.split_once('=').context("--set wants key=value")?;
                a.tweak.push((k.to_string(), v.to_string()));
            }
            "--unsupervised-only" => a.modes = vec![false],
            "--misses" => a.misses = true,
            "--typologies" => a.typologies = true,
            other if other.starts_with("--") => bail!("unknown option {other}"),
            file => a.files.push(file.into()),
        }
    }
    if a.files.is_empty() && a.generate.is_none() {
        bail!(
            "usage: eval_rings [--name N] [--preset P] [--truth-nodes nodes.csv(.gz)] [--truth-rings rings.csv] [--seeds 1,2,3] [--reveal 0.3] FILES..."
        );
    }
    Ok(a)
}

fn open_text(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(f)))
    } else {
        Box::new(BufReader::new(f))
    })
}

/// AMLSim nodes: `nodeid,isFraud,...,fraudStep` — fraud when isFraud is 1 or fraudStep >= 0.
fn read_nodes(path: &Path) -> anyhow::Result<HashMap<String, bool>> {
    let mut out = HashMap::new();
    let mut lines = open_text(path)?.lines();
    let header = lines.next().context("empty nodes file")??;
    let cols: Vec<&str> = header.split(',').collect();
    let idx = |name: &str| cols.iter().position(|c| c.eq_ignore_ascii_case(name));
    let id = idx("nodeid").context("no nodeid column")?;
    let is_fraud = idx("isFraud");
    let step = idx("fraudStep");
    for line in lines {
        let line = line?;
        let f: Vec<&str> = line.split(',').collect();
        let fraud = is_fraud.is_some_and(|i| {
            f.get(i)
                .is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("true"))
        }) || step.is_some_and(|i| {
            f.get(i)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .is_some_and(|s| s >= 0.0)
        });
        out.insert(f[id].trim().to_string(), fraud);
    }
    Ok(out)
}

/// Fixture ground truth: `ring_id,typology,account_id,role`.
#[allow(clippy::type_complexity)]
fn read_rings(
    path: &Path,
) -> anyhow::Result<(BTreeMap<String, Vec<String>>, BTreeMap<String, String>)> {
    let mut rings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut typology = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(path)?;
    let headers = rdr.headers()?.clone();
    let ring = headers
        .iter()
        .position(|h| h == "ring_id")
        .context("no ring_id")?;
    let acc = headers
        .iter()
        .position(|h| h == "account_id")
        .context("no account_id")?;
    let typ = headers.iter().position(|h| h == "typology");
    for r in rdr.records() {
        let r = r?;
        if let Some(t) = typ {
            typology.insert(r[ring].to_string(), r[t].to_string());
        }
        rings
            .entry(r[ring].to_string())
            .or_default()
            .push(r[acc].to_string());
    }
    Ok((rings, typology))
}

struct Row {
    mode: &'static str,
    seed: u64,
    ap: f64,
    roc: f64,
    r_prec: f64,
    ring_recall: Option<f64>,
    secs: f64,
    cv_pr_auc: Option<f64>,
}

fn main() -> anyhow::Result<()> {
    let mut args = parse_args()?;
    let dir = tempfile::tempdir()?;
    if args.generate.as_deref() == Some("amlsim") {
        use sightline::fixtures::amlsim_like::{AmlSimConfig, write_dir};
        let data = std::env::var_os("EVAL_KEEP_FIXTURES")
            .map_or_else(|| dir.path().join("amlsim"), PathBuf::from);
        let t = Instant::now();
        let s = write_dir(&AmlSimConfig::default(), &data)?;
        eprintln!(
            "generated {} accounts, {} transactions, {} SAR alerts ({} members) in {:.1}s",
            s.accounts,
            s.transactions,
            s.alerts,
            s.sar_accounts,
            t.elapsed().as_secs_f64()
        );
        args.files = vec![data.join("transactions.csv")];
        args.truth_rings = Some(data.join("rings.csv"));
        args.preset = "amlsim".into();
        if args.name == "dataset" {
            args.name = "amlsim-like".into();
        }
        args.generate = None;
    }
    if let Some(which) = &args.generate {
        use sightline::fixtures::transactions::{TxGenConfig, write_dir};
        let cfg = match which.as_str() {
            "demo" => TxGenConfig::demo(),
            "benchmark" => TxGenConfig::benchmark(),
            other => bail!("--generate {other}: use demo or benchmark"),
        };
        let data = std::env::var_os("EVAL_KEEP_FIXTURES")
            .map_or_else(|| dir.path().join("fixtures"), PathBuf::from);
        let t = Instant::now();
        let s = write_dir(&cfg, &data, false)?;
        eprintln!(
            "generated {} accounts, {} transactions, {} rings in {:.1}s",
            s.accounts,
            s.transactions,
            s.rings,
            t.elapsed().as_secs_f64()
        );
        args.files = ["accounts.csv", "merchants.csv", "transactions.csv"]
            .iter()
            .map(|f| data.join(f))
            .collect();
        args.truth_rings = Some(data.join("rings.csv"));
        args.preset = "native".into();
        if args.name == "dataset" {
            args.name = format!("fixtures-{which}");
        }
    }
    let ws_path = dir.path().join("eval.sqlite");
    let mut ws = Workspace::open(&ws_path, OpenMode::CreateIfMissing)?;
    let t = Instant::now();
    let plan = ingest::detect(
        &args.files,
        &args.preset,
        None,
        &ingest::DetectOptions {
            preview_rows: 0,
            limits: Default::default(),
            no_labels: true,
        },
    )?;
    let summary = ingest::run(
        &mut ws,
        &plan,
        &ingest::IngestOptions {
            no_labels: true,
            ..Default::default()
        },
        &AtomicBool::new(false),
        &|_| {},
    )?;
    eprintln!(
        "ingested {} rows without labels in {:.1}s",
        summary.loaded,
        t.elapsed().as_secs_f64()
    );

    let mut truth = Truth {
        fraud: HashMap::new(),
        rings: BTreeMap::new(),
        typology: BTreeMap::new(),
    };
    if let Some(p) = &args.truth_nodes {
        truth.fraud = read_nodes(p)?;
    }
    if let Some(p) = &args.truth_rings {
        (truth.rings, truth.typology) = read_rings(p)?;
        for members in truth.rings.values() {
            for m in members {
                truth.fraud.insert(m.clone(), true);
            }
        }
    }
    // Every account in the workspace takes part; accounts the truth does not name are legit.
    let accounts: Vec<String> = {
        let mut st = ws
            .conn()
            .prepare("SELECT ext_id FROM accounts ORDER BY id")?;
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?
    };
    let is_fraud = |a: &str| truth.fraud.get(a).copied().unwrap_or(false);
    let positives = accounts.iter().filter(|a| is_fraud(a)).count();
    eprintln!(
        "{} accounts, {positives} fraud, {} rings",
        accounts.len(),
        truth.rings.len()
    );

    let mut rows = Vec::new();
    for &seed in &args.seeds {
        // Stratified reveal.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pos: Vec<&String> = accounts.iter().filter(|a| is_fraud(a)).collect();
        let mut neg: Vec<&String> = accounts.iter().filter(|a| !is_fraud(a)).collect();
        pos.shuffle(&mut rng);
        neg.shuffle(&mut rng);
        let kp = (pos.len() as f64 * args.reveal).round() as usize;
        let kn = (neg.len() as f64 * args.reveal).round() as usize;
        let revealed: std::collections::HashSet<&String> =
            pos[..kp].iter().chain(&neg[..kn]).copied().collect();
        for &supervised in &args.modes {
            ws.conn().execute("DELETE FROM labels", [])?;
            if supervised {
                let labels_path = dir.path().join(format!("labels-{seed}.csv"));
                let mut f = std::fs::File::create(&labels_path)?;
                writeln!(f, "entity_id,label")?;
                for a in &accounts {
                    if revealed.contains(a) {
                        writeln!(f, "{a},{}", if is_fraud(a) { "fraud" } else { "legit" })?;
                    }
                }
                drop(f);
                ingest::labels::import(&mut ws, &labels_path, "eval")?;
            }
            let mut opts = ScoreOptions {
                seed,
                unsupervised: !supervised,
                keep_features: args.dump.is_some(),
                ..Default::default()
            };
            for (k, v) in &args.tweak {
                match k.as_str() {
                    "inner_folds" => opts.inner_folds = v.parse()?,
                    "folds" => opts.folds = v.parse()?,
                    "max_iter" => opts.gbm.max_iter = v.parse()?,
                    "learning_rate" => opts.gbm.learning_rate = v.parse()?,
                    "max_leaf_nodes" => opts.gbm.max_leaf_nodes = v.parse()?,
                    "min_samples_leaf" => opts.gbm.min_samples_leaf = v.parse()?,
                    "subsample" => opts.gbm.subsample = v.parse()?,
                    "lpa_max_sweeps" => opts.detect.lpa_max_sweeps = v.parse()?,
                    "min_fan" => opts.detect.min_fan = v.parse()?,
                    "max_cycle_len" => opts.detect.max_cycle_len = v.parse()?,
                    "cycle_steps" => opts.detect.cycle_steps_per_start = v.parse()?,
                    "neighbour_rounds" => opts.neighbour_rounds = v.parse()?,
                    "fan_window_days" => opts.detect.fan_window_secs = v.parse::<i64>()? * 86_400,
                    other => bail!("--set {other}: unknown setting"),
                }
            }
            let t = Instant::now();
            let report = score_workspace(ws.conn(), &opts, &AtomicBool::new(false), &|_| {})?;
            let secs = t.elapsed().as_secs_f64();
            if let (Some(dir), Some(fm)) = (&args.dump, &report.features) {
                std::fs::create_dir_all(dir)?;
                report.write_dir(&dir.join(format!(
                    "{}-{}-{seed}",
                    args.name,
                    if supervised { "sup" } else { "unsup" }
                )))?;
                let path = dir.join(format!(
                    "{}-{}-{seed}.csv",
                    args.name,
                    if supervised { "sup" } else { "unsup" }
                ));
                let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
                write!(f, "account_id,truth,revealed,score")?;
                for n in &fm.names {
                    write!(f, ",{n}")?;
                }
                writeln!(f)?;
                for a in &report.accounts {
                    write!(
                        f,
                        "{},{},{},{}",
                        a.ext_id,
                        u8::from(is_fraud(&a.ext_id)),
                        u8::from(revealed.contains(&a.ext_id)),
                        a.score
                    )?;
                    for c in &fm.columns {
                        write!(f, ",{}", c[a.account as usize])?;
                    }
                    writeln!(f)?;
                }
            }
            let mut scores = Vec::new();
            let mut y = Vec::new();
            let mut held: HashMap<&str, f64> = HashMap::new();
            for a in &report.accounts {
                if revealed.contains(&a.ext_id) {
                    continue;
                }
                scores.push(a.score);
                y.push(is_fraud(&a.ext_id));
                held.insert(a.ext_id.as_str(), a.score);
            }
            let k = y.iter().filter(|b| **b).count();
            let ring_recall = (!truth.rings.is_empty()).then(|| {
                let mut ranked: Vec<(&str, f64)> = held.iter().map(|(a, s)| (*a, *s)).collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
                let top: std::collections::HashSet<&str> =
                    ranked.iter().take(k).map(|x| x.0).collect();
                let mut found = 0usize;
                let mut rings = 0usize;
                let mut by_typology: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
                for (ring, members) in &truth.rings {
                    let hidden: Vec<&String> = members
                        .iter()
                        .filter(|m| held.contains_key(m.as_str()))
                        .collect();
                    if hidden.is_empty() {
                        continue;
                    }
                    rings += 1;
                    let hit = hidden.iter().filter(|m| top.contains(m.as_str())).count();
                    let t = by_typology
                        .entry(truth.typology.get(ring).map_or("", String::as_str))
                        .or_default();
                    t.1 += 1;
                    if 2 * hit >= hidden.len() {
                        found += 1;
                        t.0 += 1;
                    } else if args.misses {
                        let ranks: Vec<String> = hidden
                            .iter()
                            .map(|m| {
                                let r = ranked.iter().position(|x| x.0 == m.as_str());
                                format!("{m}@{}", r.map_or(0, |r| r + 1))
                            })
                            .collect();
                        eprintln!("  missed ring {ring} (k = {k}): {}", ranks.join(" "));
                    }
                }
                if (args.misses || args.typologies) && by_typology.len() > 1 {
                    let parts: Vec<String> = by_typology
                        .iter()
                        .map(|(t, (f, n))| format!("{t} {f}/{n}"))
                        .collect();
                    eprintln!("  rings found by typology: {}", parts.join(", "));
                }
                found as f64 / rings.max(1) as f64
            });
            let row = Row {
                mode: if supervised {
                    "supervised"
                } else {
                    "unsupervised"
                },
                seed,
                ap: average_precision(&scores, &y).unwrap_or(f64::NAN),
                roc: roc_auc(&scores, &y).unwrap_or(f64::NAN),
                r_prec: precision_at_k(&scores, &y, k).unwrap_or(f64::NAN),
                ring_recall,
                secs,
                cv_pr_auc: report
                    .metrics
                    .cross_validation
                    .as_ref()
                    .and_then(|c| c.pr_auc),
            };
            eprintln!(
                "{} seed {seed} {}: AP {:.4} ROC-AUC {:.4} R-precision {:.4} ring recall {} (model {}, CV PR-AUC {}, {:.1}s)",
                args.name,
                row.mode,
                row.ap,
                row.roc,
                row.r_prec,
                row.ring_recall.map_or("n/a".into(), |r| format!("{r:.3}")),
                report.metrics.model.name(),
                row.cv_pr_auc.map_or("n/a".into(), |r| format!("{r:.3}")),
                secs
            );
            rows.push(row);
        }
    }
    println!(
        "| dataset | mode | seeds | AP | ROC-AUC | R-precision | ring recall | CV PR-AUC | score time (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for mode in ["supervised", "unsupervised"] {
        let r: Vec<&Row> = rows.iter().filter(|r| r.mode == mode).collect();
        if r.is_empty() {
            continue;
        }
        let mean = |f: &dyn Fn(&Row) -> f64| r.iter().map(|x| f(x)).sum::<f64>() / r.len() as f64;
        let seeds: Vec<String> = r.iter().map(|x| x.seed.to_string()).collect();
        let rr = if r.iter().all(|x| x.ring_recall.is_some()) {
            format!("{:.3}", mean(&|x| x.ring_recall.unwrap_or(0.0)))
        } else {
            "n/a".into()
        };
        let cv = if r.iter().all(|x| x.cv_pr_auc.is_some()) {
            format!("{:.3}", mean(&|x| x.cv_pr_auc.unwrap_or(0.0)))
        } else {
            "n/a".into()
        };
        println!(
            "| {} | {mode} | {} | {:.4} | {:.4} | {:.4} | {rr} | {cv} | {:.1} |",
            args.name,
            seeds.join(","),
            mean(&|x| x.ap),
            mean(&|x| x.roc),
            mean(&|x| x.r_prec),
            mean(&|x| x.secs)
        );
    }
    Ok(())
}
