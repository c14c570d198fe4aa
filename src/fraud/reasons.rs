//! Reasons: the evidence behind a score, worded as an analyst would say it, naming accounts,
//! identifiers, amounts and times ("6 accounts share device D-1042, first used within 3 days").
//!
//! A [`Reason`] keeps its structured [`Evidence`] beside the sentence so tests (and the
//! explorer) can go back to SQLite and check every figure.

use super::dataset::{Dataset, Label, NONE};
use super::detect::{BlockObject, Evidence};

/// Accounts named in one sentence at most; the rest are counted.
const NAMED_ACCOUNTS: usize = 5;
/// Onward payments named in a forwarding reason at most; the rest are counted.
const NAMED_PAYMENTS: usize = 3;

/// One reason for a score.
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    /// The sentence.
    pub text: String,
    /// How much it matters (for ordering only).
    pub weight: f64,
    /// The facts behind it, when it comes from a detector.
    pub evidence: Option<Evidence>,
}

/// "$9,800" for large amounts, "$4.99" for small ones.
pub fn money(amount: f64) -> String {
    let amount = if amount.is_finite() { amount } else { 0.0 };
    if amount.abs() >= 100.0 {
        let whole = amount.round() as i64;
        let digits = whole.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{}${out}", if whole < 0 { "-" } else { "" })
    } else {
        format!("${amount:.2}")
    }
}

/// A span of time in the unit an analyst would use.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=59 => "under a minute".to_string(),
        60..=7_199 => format!("{} minutes", (secs + 30) / 60),
        7_200..=259_199 => format!("{} h", (secs + 1_800) / 3_600),
        _ => format!("{} days", (secs + 43_200) / 86_400),
    }
}

/// UTC date and time, "2024-03-02 14:05 UTC".
pub fn when(ts_secs: i64) -> String {
    chrono::DateTime::from_timestamp(ts_secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("t={ts_secs}"))
}

fn names(ds: &Dataset, accounts: &[u32]) -> String {
    let mut s: Vec<&str> = accounts
        .iter()
        .take(NAMED_ACCOUNTS)
        .map(|&a| ds.accounts.ext_id[a as usize].as_str())
        .collect();
    let more = accounts.len().saturating_sub(NAMED_ACCOUNTS);
    let mut out = s.join(", ");
    if more > 0 {
        out.push_str(&format!(" and {more} more"));
    }
    s.clear();
    out
}

fn entity(ds: &Dataset, j: u32) -> String {
    let j = j as usize;
    format!("{} {}", ds.entities.kind[j].noun(), ds.entities.value[j])
}

fn account(ds: &Dataset, a: u32) -> &str {
    &ds.accounts.ext_id[a as usize]
}

/// The sentence for one piece of evidence.
pub fn describe(ds: &Dataset, ev: &Evidence) -> String {
    let tx = &ds.tx;
    match ev {
        Evidence::SharedEntity {
            entity: j,
            accounts,
            first_ts_secs,
            last_ts_secs,
        } => {
            let timing = match (first_ts_secs, last_ts_secs) {
                (Some(first), Some(last)) if last - first < 60 => {
                    format!(", all first used at {}", when(*first))
                }
                (Some(first), Some(last)) => format!(
                    ", first used within {} ({} to {})",
                    duration(last - first),
                    when(*first),
                    when(*last)
                ),
                _ => String::new(),
            };
            format!(
                "{} accounts share {} ({}){timing}",
                accounts.len(),
                entity(ds, *j),
                names(ds, accounts)
            )
        }
        Evidence::SimilarIdentifiers { entities, accounts } => {
            let kind = entities
                .first()
                .map_or("identifier", |&j| ds.entities.kind[j as usize].noun());
            let values: Vec<&str> = entities
                .iter()
                .take(4)
                .map(|&j| ds.entities.value[j as usize].as_str())
                .collect();
            let more = if entities.len() > 4 {
                format!(" and {} more", entities.len() - 4)
            } else {
                String::new()
            };
            format!(
                "{} accounts hold near-identical {kind}s {}{more} ({})",
                accounts.len(),
                values.join(", "),
                names(ds, accounts)
            )
        }
        Evidence::Cycle { accounts, tx: hops } => {
            let mut path: Vec<&str> = accounts.iter().map(|&a| account(ds, a)).collect();
            path.push(account(ds, accounts[0]));
            let first = hops[0] as usize;
            let last = hops[hops.len() - 1] as usize;
            format!(
                "funds cycle {}: {} sent, {} back in {} ({} transfers from {})",
                path.join("→"),
                money(tx.amount[first]),
                money(tx.amount[last]),
                duration(tx.ts_secs[last] - tx.ts_secs[first]),
                hops.len(),
                when(tx.ts_secs[first])
            )
        }
        Evidence::FanIn(h) => format!(
            "{} accounts paid {} a total of {} in {} ({} transfers from {}, amounts vary by {:.0}%{}): {}",
            h.counterparties.len(),
            account(ds, h.center),
            money(h.total_amount),
            duration(h.last_ts_secs - h.first_ts_secs),
            h.tx.len(),
            when(h.first_ts_secs),
            h.amount_cv * 100.0,
            alike_odds(h),
            names(ds, &h.counterparties)
        ),
        Evidence::FanOut(h) => format!(
            "{} paid {} accounts a total of {} in {} ({} transfers from {}, amounts vary by {:.0}%{}): {}",
            account(ds, h.center),
            h.counterparties.len(),
            money(h.total_amount),
            duration(h.last_ts_secs - h.first_ts_secs),
            h.tx.len(),
            when(h.first_ts_secs),
            h.amount_cv * 100.0,
            alike_odds(h),
            names(ds, &h.counterparties)
        ),
        Evidence::ScatterGather {
            source,
            sink,
            intermediates,
            tx: legs,
        } => {
            let k = intermediates.len();
            let out: f64 = legs[..k].iter().map(|&t| tx.amount[t as usize]).sum();
            let back: f64 = legs[k..].iter().map(|&t| tx.amount[t as usize]).sum();
            let first = legs
                .iter()
                .map(|&t| tx.ts_secs[t as usize])
                .min()
                .unwrap_or(0);
            let last = legs
                .iter()
                .map(|&t| tx.ts_secs[t as usize])
                .max()
                .unwrap_or(0);
            format!(
                "{} split {} over {k} accounts ({}) that passed {} on to {} within {} (from {})",
                account(ds, *source),
                money(out),
                names(ds, intermediates),
                money(back),
                account(ds, *sink),
                duration(last - first),
                when(first)
            )
        }
        Evidence::GatherScatter { gather, scatter } => format!(
            "{} gathered {} from {} accounts and paid {} out to {} accounts between {} and {}",
            account(ds, gather.center),
            money(gather.total_amount),
            gather.counterparties.len(),
            money(scatter.total_amount),
            scatter.counterparties.len(),
            when(gather.first_ts_secs.min(scatter.first_ts_secs)),
            when(gather.last_ts_secs.max(scatter.last_ts_secs))
        ),
        Evidence::CardBurst {
            merchant,
            tx: burst,
        } => {
            let first = burst.first().map_or(0, |&t| tx.ts_secs[t as usize]);
            let last = burst.last().map_or(0, |&t| tx.ts_secs[t as usize]);
            let declined = burst.iter().filter(|&&t| tx.declined[t as usize]).count();
            let mut cards: Vec<u32> = burst.iter().map(|&t| tx.card[t as usize]).collect();
            cards.sort_unstable();
            cards.dedup();
            cards.retain(|&c| c != super::dataset::NONE);
            let mut accounts: Vec<u32> = burst.iter().map(|&t| tx.src[t as usize]).collect();
            accounts.sort_unstable();
            accounts.dedup();
            format!(
                "{} card attempts at {} in {} ({declined} declined, {} cards, from {}, accounts {})",
                burst.len(),
                entity(ds, *merchant),
                duration(last - first),
                cards.len(),
                when(first),
                names(ds, &accounts)
            )
        }
        Evidence::DenseBlock {
            accounts,
            objects,
            edges,
            ..
        } => {
            let rows = accounts.len();
            let shown: Vec<String> = objects
                .iter()
                .take(3)
                .map(|o| match o {
                    BlockObject::Entity(j) => entity(ds, *j),
                    BlockObject::Promo(p) => format!("promo code {}", ds.promo_codes[*p as usize]),
                    BlockObject::Payee(a) => format!("payee {}", account(ds, *a)),
                })
                .collect();
            format!(
                "{rows} accounts and {} shared counterparties or identifiers form a dense block with {edges} links (e.g. {}): {}",
                objects.len(),
                shown.join(", "),
                names(ds, accounts)
            )
        }
        Evidence::Takeover {
            identifier,
            payers,
            payees,
            tx: moves,
        } => {
            let (transfers, cash_outs): (Vec<u32>, Vec<u32>) =
                moves.iter().partition(|&&t| tx.dst[t as usize] != NONE);
            let sum = |ts: &[u32]| -> f64 { ts.iter().map(|&t| tx.amount[t as usize]).sum() };
            let who = |ts: &[u32]| -> String {
                let mut a: Vec<u32> = ts.iter().map(|&t| tx.src[t as usize]).collect();
                a.sort_unstable();
                a.dedup();
                names(ds, &a)
            };
            let times = |n: usize, one: &str, many: &str| {
                format!("{n} {}", if n == 1 { one } else { many })
            };
            let first = moves.first().map_or(0, |&t| tx.ts_secs[t as usize]);
            let last = moves.last().map_or(0, |&t| tx.ts_secs[t as usize]);
            let (them, it) = if payees.len() == 1 {
                (account(ds, payees[0]).to_string(), "uses it")
            } else {
                (names(ds, payees), "use it")
            };
            let mut what = format!(
                "{} paid {them} {} in {}",
                who(&transfers),
                money(sum(&transfers)),
                times(transfers.len(), "transfer", "transfers")
            );
            if !cash_outs.is_empty() {
                what.push_str(&format!(
                    " and {} cashed out {} in {}",
                    who(&cash_outs),
                    money(sum(&cash_outs)),
                    times(cash_outs.len(), "withdrawal", "withdrawals")
                ));
            }
            format!(
                "{what} on {} (from {} to {}): {them} {it} itself, these {} accounts rarely do",
                entity(ds, *identifier),
                when(first),
                when(last),
                payers.len()
            )
        }
        Evidence::Forwarded {
            account: who,
            receipt,
            onward,
            passed_on,
        } => {
            let r = *receipt as usize;
            let last = onward
                .last()
                .map_or(tx.ts_secs[r], |&o| tx.ts_secs[o as usize]);
            let mut parts: Vec<String> = onward
                .iter()
                .take(NAMED_PAYMENTS)
                .map(|&o| {
                    let o = o as usize;
                    if tx.dst[o] == NONE {
                        format!("cash-out {}", money(tx.amount[o]))
                    } else {
                        format!("{} to {}", money(tx.amount[o]), account(ds, tx.dst[o]))
                    }
                })
                .collect();
            if onward.len() > NAMED_PAYMENTS {
                parts.push(format!("{} more", onward.len() - NAMED_PAYMENTS));
            }
            format!(
                "{} passed on {} of the {} it received from {} at {} within {} ({})",
                account(ds, *who),
                money(*passed_on),
                money(tx.amount[r]),
                account(ds, tx.src[r]),
                when(tx.ts_secs[r]),
                duration(last - tx.ts_secs[r]),
                parts.join(", ")
            )
        }
        Evidence::Community {
            accounts,
            internal_pairs,
            boundary_pairs,
        } => format!(
            "closed money community of {} accounts: {internal_pairs} transfer pairs inside, {boundary_pairs} leading out ({})",
            accounts.len(),
            names(ds, accounts)
        ),
    }
}

/// Whether a piece of evidence names account `v` (for a card burst: `v` made an attempt).
pub fn involves(ds: &Dataset, ev: &Evidence, v: u32) -> bool {
    match ev {
        Evidence::SharedEntity { accounts, .. }
        | Evidence::SimilarIdentifiers { accounts, .. }
        | Evidence::Cycle { accounts, .. }
        | Evidence::DenseBlock { accounts, .. }
        | Evidence::Community { accounts, .. } => accounts.contains(&v),
        Evidence::FanIn(h) | Evidence::FanOut(h) => h.center == v || h.counterparties.contains(&v),
        Evidence::ScatterGather {
            source,
            sink,
            intermediates,
            ..
        } => *source == v || *sink == v || intermediates.contains(&v),
        Evidence::GatherScatter { gather, scatter } => {
            gather.center == v
                || gather.counterparties.contains(&v)
                || scatter.counterparties.contains(&v)
        }
        Evidence::CardBurst { tx, .. } => tx.iter().any(|&t| ds.tx.src[t as usize] == v),
        Evidence::Forwarded { account, .. } => *account == v,
        Evidence::Takeover { payers, payees, .. } => payers.contains(&v) || payees.contains(&v),
    }
}

/// Prefix of an account reason that describes the account's cluster rather than the account.
pub const CLUSTER_MEMBER_PREFIX: &str = "member of cluster";

/// Reason for an account that sits in a cluster none of whose evidence names it (it joined
/// through the community or a chain of links): says so, then gives the cluster's own evidence.
pub fn cluster_member_reason(
    ds: &Dataset,
    cluster_id: u32,
    size: usize,
    typology: &str,
    ev: &Evidence,
) -> String {
    format!(
        "{CLUSTER_MEMBER_PREFIX} {cluster_id} ({size} accounts, {}), where {}",
        typology.replace('_', " "),
        describe(ds, ev)
    )
}

/// Label-based reason: counterparties and identifier-sharers labelled fraud.
pub fn labelled_neighbour_reason(
    ds: &Dataset,
    v: u32,
    money_neighbours: &[u32],
    identity_neighbours: &[u32],
) -> Option<Reason> {
    let fraud_money: Vec<u32> = money_neighbours
        .iter()
        .copied()
        .filter(|&u| ds.labels[u as usize] == Label::Fraud && u != v)
        .collect();
    let fraud_ident: Vec<u32> = identity_neighbours
        .iter()
        .copied()
        .filter(|&u| ds.labels[u as usize] == Label::Fraud && u != v)
        .collect();
    if fraud_money.is_empty() && fraud_ident.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !fraud_money.is_empty() {
        parts.push(format!(
            "moved money with {} account{} labelled fraud ({})",
            fraud_money.len(),
            if fraud_money.len() == 1 { "" } else { "s" },
            names(ds, &fraud_money)
        ));
    }
    if !fraud_ident.is_empty() {
        parts.push(format!(
            "shares identifiers with {} account{} labelled fraud ({})",
            fraud_ident.len(),
            if fraud_ident.len() == 1 { "" } else { "s" },
            names(ds, &fraud_ident)
        ));
    }
    let k = (fraud_money.len() + fraud_ident.len()) as f64;
    Some(Reason {
        text: parts.join(" and "),
        weight: 0.3 + 0.1 * k.min(5.0),
        evidence: None,
    })
}

/// For a look-alike fan: how common transfers of that size are in the workspace, and how many
/// the account's own rate predicts.
fn alike_odds(h: &crate::fraud::detect::FanHit) -> String {
    h.alike.map_or_else(String::new, |a| {
        format!(
            ", {:.0}% of all transfers are that size and its usual rate predicts {:.1} of them in 30 days",
            a.size_share * 100.0,
            a.expected
        )
    })
}
