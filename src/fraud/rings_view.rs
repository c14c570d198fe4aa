//! Read-only queries over the latest persisted scoring run, for the Rings view: which model
//! was used and how well it cross-validated, the candidate rings by score, and their members.

use rusqlite::{Connection, OptionalExtension, params};

/// The latest scoring run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub run_id: i64,
    pub created_at: i64,
    /// `supervised` or `unsupervised`.
    pub model: String,
    /// Why that model (e.g. "trained on 58 fraud and 197 legit labels").
    pub model_reason: String,
    pub pr_auc: Option<f64>,
    pub roc_auc: Option<f64>,
    pub accounts: i64,
    pub clusters: i64,
}

/// One candidate ring of the latest run.
#[derive(Clone, Debug, PartialEq)]
pub struct RingRow {
    pub cluster_id: i64,
    pub score: f64,
    pub typology: String,
    pub size: i64,
    pub reasons: Vec<String>,
    pub members: Vec<String>,
}

/// The latest run, if the workspace was ever scored.
pub fn latest_run(conn: &Connection) -> rusqlite::Result<Option<RunSummary>> {
    let row = conn
        .query_row(
            "SELECT id, created_at, model, metrics_json,
                    (SELECT count(*) FROM account_scores a WHERE a.run_id = r.id),
                    (SELECT count(*) FROM score_clusters c WHERE c.run_id = r.id)
             FROM score_runs r ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    Ok(
        row.map(|(run_id, created_at, model, metrics, accounts, clusters)| {
            let json: serde_json::Value = serde_json::from_str(&metrics).unwrap_or_default();
            let cv = &json["cross_validation"];
            RunSummary {
                run_id,
                created_at,
                model,
                model_reason: json["model_reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                pr_auc: cv["pr_auc"].as_f64(),
                roc_auc: cv["roc_auc"].as_f64(),
                accounts,
                clusters,
            }
        }),
    )
}

/// The `limit` highest-scoring rings of run `run_id`, with their members' ids.
pub fn top_rings(conn: &Connection, run_id: i64, limit: i64) -> rusqlite::Result<Vec<RingRow>> {
    let mut stmt = conn.prepare(
        "SELECT cluster_id, score, typology, size, reasons FROM score_clusters
         WHERE run_id = ?1 ORDER BY score DESC, cluster_id LIMIT ?2",
    )?;
    let mut members = conn.prepare(
        "SELECT a.ext_id FROM score_cluster_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.run_id = ?1 AND m.cluster_id = ?2 ORDER BY a.ext_id",
    )?;
    let rows = stmt
        .query_map(params![run_id, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(cluster_id, score, typology, size, reasons)| {
            let members = members
                .query_map(params![run_id, cluster_id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(RingRow {
                cluster_id,
                score,
                typology,
                size,
                reasons: serde_json::from_str(&reasons).unwrap_or_default(),
                members,
            })
        })
        .collect()
}
