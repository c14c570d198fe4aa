//! Entity resolution: accounts joined through shared devices, cards, IPs, e-mails, phones,
//! national ids and addresses, with a hub guard so a public Wi-Fi IP or a shop kiosk used by
//! hundreds of customers links nobody.

use std::collections::BTreeSet;

use super::{Candidate, DetectOptions, Evidence, Typology};
use crate::fraud::csr::UnionFind;
use crate::fraud::dataset::Dataset;

const DAY_SECS: f64 = 86_400.0;

/// Per-account outputs of the identity detector.
#[derive(Clone, Debug, Default)]
pub struct IdentitySignals {
    /// Size of the account's shared-identity component.
    pub component_size: Vec<f32>,
    /// Most accounts sharing one of its non-hub identifiers.
    pub max_sharing: Vec<f32>,
    /// Kinds of identifier it shares.
    pub shared_kinds: Vec<f32>,
    /// Hub identifiers it uses.
    pub hubs_used: Vec<f32>,
    /// First-use span (days) of its most shared identifier.
    pub span_days: Vec<f32>,
}

/// Identity detector output.
#[derive(Clone, Debug, Default)]
pub struct IdentityHits {
    /// One candidate per component of two or more accounts.
    pub candidates: Vec<Candidate>,
    /// Entities judged hubs.
    pub hubs: Vec<u32>,
    /// Per-account signals.
    pub signals: IdentitySignals,
}

/// Finds components of accounts tied by shared, non-hub identifiers.
pub fn detect_shared_identity(ds: &Dataset, opts: &DetectOptions) -> IdentityHits {
    let n = ds.n_accounts();
    let m = ds.entities.db_id.len();
    // Group identity edges by entity.
    let mut by_entity: Vec<Vec<(u32, i64)>> = vec![Vec::new(); m];
    for e in &ds.identity {
        let t = e.first_seen_secs.or(e.last_seen_secs).unwrap_or(0);
        by_entity[e.entity as usize].push((e.account, t));
    }
    let mut hits = IdentityHits {
        signals: IdentitySignals {
            component_size: vec![1.0; n],
            max_sharing: vec![0.0; n],
            shared_kinds: vec![0.0; n],
            hubs_used: vec![0.0; n],
            span_days: vec![0.0; n],
        },
        ..Default::default()
    };
    let mut uf = UnionFind::new(n);
    let mut kinds: Vec<BTreeSet<u8>> = vec![BTreeSet::new(); n];
    let mut shared: Vec<u32> = Vec::new(); // entities that link accounts
    for (j, users) in by_entity.iter_mut().enumerate() {
        users.sort_unstable();
        users.dedup_by_key(|u| u.0);
        if users.len() < 2 {
            continue;
        }
        if users.len() > opts.max_accounts_per_identifier {
            hits.hubs.push(j as u32);
            for &(a, _) in users.iter() {
                hits.signals.hubs_used[a as usize] += 1.0;
            }
            continue;
        }
        shared.push(j as u32);
        let (lo, hi) = users
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), u| (lo.min(u.1), hi.max(u.1)));
        let span_days = ((hi - lo).max(0) as f64 / DAY_SECS) as f32;
        let k = users.len() as f32;
        for &(a, _) in users.iter() {
            uf.union(users[0].0, a);
            kinds[a as usize].insert(ds.entities.kind[j] as u8);
            let s = &mut hits.signals;
            if k > s.max_sharing[a as usize] {
                s.max_sharing[a as usize] = k;
                s.span_days[a as usize] = span_days;
            }
        }
    }
    for (a, set) in kinds.iter().enumerate() {
        hits.signals.shared_kinds[a] = set.len() as f32;
    }
    let comps = uf.components();
    for v in 0..n {
        hits.signals.component_size[v] = comps.sizes[comps.id[v] as usize] as f32;
    }
    // Evidence per component: its shared entities, most accounts first.
    let mut comp_entities: Vec<Vec<u32>> = vec![Vec::new(); comps.sizes.len()];
    for &j in &shared {
        let first = by_entity[j as usize][0].0;
        comp_entities[comps.id[first as usize] as usize].push(j);
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); comps.sizes.len()];
    for v in 0..n {
        if comps.sizes[comps.id[v] as usize] >= 2 {
            members[comps.id[v] as usize].push(v as u32);
        }
    }
    for (c, ents) in comp_entities.iter_mut().enumerate() {
        if ents.is_empty() {
            continue;
        }
        ents.sort_by_key(|&j| (std::cmp::Reverse(by_entity[j as usize].len()), j));
        let mut evidence = Vec::new();
        let mut tightest_days = f64::MAX;
        let mut kinds_here = BTreeSet::new();
        for &j in ents.iter() {
            kinds_here.insert(ds.entities.kind[j as usize] as u8);
        }
        for &j in ents.iter().take(3) {
            let users = &by_entity[j as usize];
            let (lo, hi) = users
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), u| (lo.min(u.1), hi.max(u.1)));
            tightest_days = tightest_days.min((hi - lo).max(0) as f64 / DAY_SECS);
            evidence.push(Evidence::SharedEntity {
                entity: j,
                accounts: users.iter().map(|u| u.0).collect(),
                first_ts_secs: lo,
                last_ts_secs: hi,
            });
        }
        let size = members[c].len() as f64;
        let top_share = by_entity[ents[0] as usize].len() as f64;
        let size_term = ((top_share - 2.0) / 5.0).clamp(0.0, 1.0);
        let tight_term = if tightest_days <= 3.0 {
            1.0
        } else {
            (1.0 - (tightest_days - 3.0) / 60.0).clamp(0.0, 1.0)
        };
        let kinds_term = ((kinds_here.len() as f64 - 1.0) / 2.0).clamp(0.0, 1.0);
        let many_links = ((ents.len() as f64 - 1.0) / size.max(1.0)).clamp(0.0, 1.0);
        let strength =
            (0.1 + 0.4 * size_term + 0.2 * tight_term * size_term + 0.2 * kinds_term + 0.1 * many_links).min(1.0);
        hits.candidates.push(Candidate {
            typology: Typology::SharedIdentity,
            members: std::mem::take(&mut members[c]),
            strength,
            evidence,
        });
    }
    hits
}
