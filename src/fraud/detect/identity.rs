//! Entity resolution: accounts joined through shared devices, cards, IPs, e-mails, phones,
//! national ids and addresses, with a hub guard so a public Wi-Fi IP or a shop kiosk used by
//! hundreds of customers links nobody.

use std::collections::BTreeSet;

use super::{Candidate, DetectOptions, Evidence, Typology};
use crate::fraud::csr::UnionFind;
use crate::fraud::dataset::{Dataset, EntityKind};

const DAY_SECS: f64 = 86_400.0;
/// First use not recorded (identifiers declared in an accounts file).
const UNKNOWN_TIME: i64 = i64::MIN;

/// Earliest and latest known first use among `users`, when at least two are known.
fn known_span(users: &[(u32, i64)]) -> Option<(i64, i64)> {
    let mut known = users.iter().map(|u| u.1).filter(|&t| t != UNKNOWN_TIME);
    let first = known.next()?;
    let (mut lo, mut hi, mut n) = (first, first, 1);
    for t in known {
        lo = lo.min(t);
        hi = hi.max(t);
        n += 1;
    }
    (n >= 2).then_some((lo, hi))
}

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
    /// Strength of its most telling shared identifier.
    pub account_strength: Vec<f32>,
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
    // Each account's first transaction, and the start of the data.
    let mut first_activity = vec![i64::MAX; n];
    for i in 0..ds.tx.len() {
        for a in [ds.tx.src[i], ds.tx.dst[i]] {
            if a != crate::fraud::dataset::NONE && first_activity[a as usize] == i64::MAX {
                first_activity[a as usize] = ds.tx.ts_secs[i];
            }
        }
    }
    let data_start = ds.tx.ts_secs.first().copied().unwrap_or(0);
    for e in &ds.identity {
        let t = e
            .first_seen_secs
            .or(e.last_seen_secs)
            .unwrap_or(UNKNOWN_TIME);
        by_entity[e.entity as usize].push((e.account, t));
    }
    let mut hits = IdentityHits {
        signals: IdentitySignals {
            component_size: vec![1.0; n],
            max_sharing: vec![0.0; n],
            shared_kinds: vec![0.0; n],
            hubs_used: vec![0.0; n],
            span_days: vec![0.0; n],
            account_strength: vec![0.0; n],
        },
        ..Default::default()
    };
    let mut uf = UnionFind::new(n);
    let mut comp_size = vec![1u32; n];
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
        // Unknown times say nothing about timing: count them as a wide span.
        let span_days = known_span(users).map_or(365.0, |(lo, hi)| {
            ((hi - lo).max(0) as f64 / DAY_SECS) as f32
        });
        let k = users.len() as f32;
        for &(a, _) in users.iter() {
            kinds[a as usize].insert(ds.entities.kind[j] as u8);
            let s = &mut hits.signals;
            if k > s.max_sharing[a as usize] {
                s.max_sharing[a as usize] = k;
                s.span_days[a as usize] = span_days;
            }
        }
    }
    // Rarest identifiers link first, and no link may grow a component past the cap, so a chain
    // of households, offices and buildings cannot glue a city into one "ring".
    let cap = opts.max_identity_component as u32;
    let mut order = shared.clone();
    order.sort_by_key(|&j| (by_entity[j as usize].len(), j));
    let mut linked: Vec<u32> = Vec::new();
    for &j in &order {
        let users = &by_entity[j as usize];
        let mut roots: Vec<u32> = users.iter().map(|u| uf.find(u.0)).collect();
        roots.sort_unstable();
        roots.dedup();
        let total: u32 = roots.iter().map(|&r| comp_size[r as usize]).sum();
        if total > cap {
            continue;
        }
        for &r in &roots[1..] {
            uf.union(roots[0], r);
        }
        comp_size[uf.find(roots[0]) as usize] = total;
        linked.push(j);
    }
    let shared = linked;
    // Near-identical identifiers: sequential numbers, e-mails differing only in digits.
    let similar = similar_identifiers(ds, &by_entity, opts);
    for group in &similar {
        for w in group.1.windows(2) {
            let (ra, rb) = (uf.find(w[0]), uf.find(w[1]));
            if ra != rb && comp_size[ra as usize] + comp_size[rb as usize] <= cap {
                let total = comp_size[ra as usize] + comp_size[rb as usize];
                uf.union(ra, rb);
                comp_size[uf.find(ra) as usize] = total;
            }
        }
        for &a in &group.1 {
            kinds[a as usize].insert(100 + ds.entities.kind[group.0[0] as usize] as u8);
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
    let mut comp_similar: Vec<Vec<usize>> = vec![Vec::new(); comps.sizes.len()];
    for (g, group) in similar.iter().enumerate() {
        comp_similar[comps.id[group.1[0] as usize] as usize].push(g);
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); comps.sizes.len()];
    for v in 0..n {
        if comps.sizes[comps.id[v] as usize] >= 2 {
            members[comps.id[v] as usize].push(v as u32);
        }
    }
    // How telling each shared identifier is, and each account's strongest one.
    let entity_strength: Vec<f64> = (0..m)
        .map(|j| {
            if by_entity[j].len() < 2 || by_entity[j].len() > opts.max_accounts_per_identifier {
                0.0
            } else {
                identifier_strength(ds, j, &by_entity[j], &first_activity, data_start)
            }
        })
        .collect();
    let mut account_strength = vec![0f64; n];
    for &j in &shared {
        for &(a, _) in &by_entity[j as usize] {
            account_strength[a as usize] =
                account_strength[a as usize].max(entity_strength[j as usize]);
        }
    }
    for group in &similar {
        let s = similar_strength(group.1.len());
        for &a in &group.1 {
            account_strength[a as usize] = account_strength[a as usize].max(s);
        }
    }
    hits.signals.account_strength = account_strength.iter().map(|&x| x as f32).collect();
    for (c, ents) in comp_entities.iter_mut().enumerate() {
        if ents.is_empty() && comp_similar[c].is_empty() {
            continue;
        }
        ents.sort_by(|&a, &b| {
            entity_strength[b as usize]
                .total_cmp(&entity_strength[a as usize])
                .then(
                    by_entity[b as usize]
                        .len()
                        .cmp(&by_entity[a as usize].len()),
                )
                .then(a.cmp(&b))
        });
        let mut evidence = Vec::new();
        let mut kinds_here = BTreeSet::new();
        for &j in ents.iter() {
            kinds_here.insert(ds.entities.kind[j as usize] as u8);
        }
        let n_similar: usize = comp_similar[c]
            .iter()
            .map(|&g| similar[g].1.len())
            .max()
            .unwrap_or(0);
        if n_similar >= 2 {
            for &g in comp_similar[c].iter().take(2) {
                evidence.push(Evidence::SimilarIdentifiers {
                    entities: similar[g].0.clone(),
                    accounts: similar[g].1.clone(),
                });
            }
        }
        for &j in ents.iter().take(3) {
            let users = &by_entity[j as usize];
            let span = known_span(users);
            evidence.push(Evidence::SharedEntity {
                entity: j,
                accounts: users.iter().map(|u| u.0).collect(),
                first_ts_secs: span.map(|s| s.0),
                last_ts_secs: span.map(|s| s.1),
            });
        }
        for &g in &comp_similar[c] {
            kinds_here.insert(100 + ds.entities.kind[similar[g].0[0] as usize] as u8);
        }
        let mut best = ents
            .iter()
            .map(|&j| entity_strength[j as usize])
            .fold(0.0, f64::max);
        if n_similar >= 2 {
            best = best.max(similar_strength(n_similar));
        }
        let kinds_term = ((kinds_here.len() as f64 - 1.0) / 3.0).clamp(0.0, 1.0);
        let strength = (0.85 * best + 0.15 * kinds_term).min(1.0);
        hits.candidates.push(Candidate {
            typology: Typology::SharedIdentity,
            members: std::mem::take(&mut members[c]),
            strength,
            evidence,
        });
    }
    hits
}

/// Largest numeric gap that still counts as "sequential" for ids and phone numbers.
const SEQUENTIAL_GAP: u64 = 3;

/// Groups of accounts holding near-identical identifiers: (entities, accounts), both sorted by
/// value/index. National ids and phone numbers are compared as digit strings turned into
/// numbers (neighbours within [`SEQUENTIAL_GAP`]); e-mail addresses by their local part with
/// digits and `+tags` removed, and only when the local part had digits (patterned addresses).
fn similar_identifiers(
    ds: &Dataset,
    by_entity: &[Vec<(u32, i64)>],
    opts: &DetectOptions,
) -> Vec<(Vec<u32>, Vec<u32>)> {
    let mut out = Vec::new();
    for kind in [EntityKind::NationalId, EntityKind::Phone] {
        let mut keyed: Vec<(u64, u32)> = (0..ds.entities.db_id.len() as u32)
            .filter(|&j| ds.entities.kind[j as usize] == kind && !by_entity[j as usize].is_empty())
            .filter_map(|j| {
                let digits: String = ds.entities.value[j as usize]
                    .chars()
                    .filter(|c| c.is_ascii_digit())
                    .collect();
                (digits.len() >= 6 && digits.len() <= 18)
                    .then(|| digits.parse::<u64>().ok())
                    .flatten()
                    .map(|d| (d, j))
            })
            .collect();
        keyed.sort_unstable();
        let mut run: Vec<u32> = Vec::new();
        let mut flush = |run: &mut Vec<u32>| {
            if run.len() >= 2 && run.len() <= opts.max_accounts_per_identifier {
                let mut accounts: Vec<u32> = run
                    .iter()
                    .flat_map(|&j| by_entity[j as usize].iter().map(|u| u.0))
                    .collect();
                accounts.sort_unstable();
                accounts.dedup();
                if accounts.len() >= 2 {
                    out.push((run.clone(), accounts));
                }
            }
            run.clear();
        };
        for (i, &(d, j)) in keyed.iter().enumerate() {
            if i > 0 && d - keyed[i - 1].0 > SEQUENTIAL_GAP {
                flush(&mut run);
            }
            run.push(j);
        }
        flush(&mut run);
    }
    let mut stems: Vec<(String, u32)> = (0..ds.entities.db_id.len() as u32)
        .filter(|&j| {
            ds.entities.kind[j as usize] == EntityKind::Email && !by_entity[j as usize].is_empty()
        })
        .filter_map(|j| {
            let v = ds.entities.value[j as usize].to_ascii_lowercase();
            let (local, domain) = v.split_once('@')?;
            let local = local.split('+').next().unwrap_or(local);
            if !local.chars().any(|c| c.is_ascii_digit()) {
                return None;
            }
            let stem: String = local.chars().filter(|c| !c.is_ascii_digit()).collect();
            let stem = stem
                .trim_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string();
            (stem.len() >= 3).then(|| (format!("{stem}@{domain}"), j))
        })
        .collect();
    stems.sort();
    let mut i = 0;
    while i < stems.len() {
        let mut k = i;
        while k < stems.len() && stems[k].0 == stems[i].0 {
            k += 1;
        }
        let ents: Vec<u32> = stems[i..k].iter().map(|x| x.1).collect();
        if ents.len() >= 2 && ents.len() <= opts.max_accounts_per_identifier {
            let mut accounts: Vec<u32> = ents
                .iter()
                .flat_map(|&j| by_entity[j as usize].iter().map(|u| u.0))
                .collect();
            accounts.sort_unstable();
            accounts.dedup();
            if accounts.len() >= 2 {
                out.push((ents, accounts));
            }
        }
        i = k;
    }
    out
}

/// Sequential ids or patterned e-mails almost never happen by chance.
fn similar_strength(accounts: usize) -> f64 {
    0.8 + 0.05 * (accounts as f64 - 2.0).clamp(0.0, 4.0)
}

/// How telling one shared identifier is: the rarer its kind is to share, the more accounts
/// took it up freshly (after they were already active, or as new accounts), the closer
/// together they did, and whether those accounts were opened in one batch.
fn identifier_strength(
    ds: &Dataset,
    j: usize,
    users: &[(u32, i64)],
    first_activity: &[i64],
    data_start: i64,
) -> f64 {
    let fresh: Vec<(u32, i64)> = users
        .iter()
        .copied()
        .filter(|&(a, t)| {
            t != UNKNOWN_TIME
                && (t > first_activity[a as usize].saturating_add(3 * DAY_SECS as i64)
                    || ds.accounts.created_at_secs[a as usize]
                        .is_some_and(|c| c >= data_start - 7 * DAY_SECS as i64))
        })
        .collect();
    let k = fresh.len() as f64;
    let kind_weight = match ds.entities.kind[j] {
        EntityKind::Device | EntityKind::Card | EntityKind::NationalId => 1.0,
        EntityKind::Phone | EntityKind::Email => 0.8,
        EntityKind::Ip => 0.35,
        EntityKind::Address | EntityKind::Merchant => 0.25,
    };
    let many = ((k - 2.0) / 4.0).clamp(0.0, 1.0);
    let tight = match known_span(&fresh) {
        Some((lo, hi)) => {
            let span_days = (hi - lo).max(0) as f64 / DAY_SECS;
            if span_days <= 3.0 {
                1.0
            } else {
                (1.0 - (span_days - 3.0) / 30.0).clamp(0.2, 1.0)
            }
        }
        None => 0.2,
    };
    let created: Vec<i64> = users
        .iter()
        .filter_map(|u| ds.accounts.created_at_secs[u.0 as usize])
        .collect();
    let batch = match (created.iter().min(), created.iter().max()) {
        (Some(lo), Some(hi)) if created.len() >= 2 && (hi - lo) as f64 <= 7.0 * DAY_SECS => 1.0,
        _ => 0.0,
    };
    (kind_weight * (0.15 + 0.85 * many) * (0.4 + 0.6 * tight) * if k >= 2.0 { 1.0 } else { 0.3 }
        + 0.2 * batch)
        .min(1.0)
}
