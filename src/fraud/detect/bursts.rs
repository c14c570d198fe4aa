//! Card-testing bursts: many attempts at one merchant within minutes, far above the merchant's
//! own rate, and with the marks of testing (declines, tiny amounts, many cards).

use super::{Candidate, DetectOptions, Evidence, Typology};
use crate::fraud::dataset::{Dataset, NONE};

/// A burst must be this many times the merchant's usual count for the window.
const RATE_MULTIPLE: f64 = 5.0;
/// Amounts at or below this count as test charges.
const SMALL_AMOUNT: f64 = 5.0;
/// Bursts reported per merchant at most.
const MAX_BURSTS_PER_MERCHANT: usize = 20;

/// Finds card-testing bursts at merchants.
pub fn detect_card_bursts(ds: &Dataset, opts: &DetectOptions) -> Vec<Candidate> {
    let m = ds.entities.db_id.len();
    let tx = &ds.tx;
    // Counting sort by merchant keeps each merchant's transactions in time order.
    let mut counts = vec![0usize; m + 1];
    for &mer in &tx.merchant {
        if mer != NONE {
            counts[mer as usize + 1] += 1;
        }
    }
    for j in 0..m {
        counts[j + 1] += counts[j];
    }
    let mut by_merchant = vec![0u32; counts[m]];
    let mut cursor = counts.clone();
    for (i, &mer) in tx.merchant.iter().enumerate() {
        if mer != NONE {
            by_merchant[cursor[mer as usize]] = i as u32;
            cursor[mer as usize] += 1;
        }
    }
    let w = opts.burst_window_secs.max(1);
    // A merchant's usual rate is measured over the whole data span, so a merchant whose only
    // activity is the burst does not set its own baseline.
    let data_span = match (tx.ts_secs.first(), tx.ts_secs.last()) {
        (Some(a), Some(b)) => (b - a).max(w),
        _ => w,
    };
    let mut out = Vec::new();
    for j in 0..m {
        let events = &by_merchant[counts[j]..counts[j + 1]];
        if events.len() < opts.min_burst_attempts {
            continue;
        }
        let ts = |k: usize| tx.ts_secs[events[k] as usize];
        let span = data_span as f64;
        let expected = events.len() as f64 * w as f64 / span;
        let threshold = (opts.min_burst_attempts as f64)
            .max(RATE_MULTIPLE * expected)
            .ceil() as usize;
        let mut lo = 0usize;
        let mut found = 0usize;
        while lo < events.len() && found < MAX_BURSTS_PER_MERCHANT {
            let hi = lo + events[lo..].partition_point(|&t| tx.ts_secs[t as usize] - ts(lo) <= w);
            if hi - lo < threshold {
                lo += 1;
                continue;
            }
            let burst = &events[lo..hi];
            let declined = burst.iter().filter(|&&t| tx.declined[t as usize]).count();
            let small = burst
                .iter()
                .filter(|&&t| tx.amount[t as usize] <= SMALL_AMOUNT)
                .count();
            let mut cards: Vec<u32> = burst
                .iter()
                .map(|&t| tx.card[t as usize])
                .filter(|&c| c != NONE)
                .collect();
            cards.sort_unstable();
            cards.dedup();
            let k = burst.len() as f64;
            let declined_share = declined as f64 / k;
            let small_share = small as f64 / k;
            let testing = declined_share >= 0.25 || small_share >= 0.5 || cards.len() >= 5;
            if testing {
                let mut members: Vec<u32> = burst.iter().map(|&t| tx.src[t as usize]).collect();
                members.sort_unstable();
                members.dedup();
                let many_cards = (cards.len() as f64 / 10.0).min(1.0);
                out.push(Candidate {
                    typology: Typology::CardTesting,
                    members,
                    strength: (0.4 + 0.3 * declined_share + 0.2 * small_share + 0.1 * many_cards)
                        .min(1.0),
                    evidence: vec![Evidence::CardBurst {
                        merchant: j as u32,
                        tx: burst.to_vec(),
                    }],
                });
                found += 1;
                lo = hi;
            } else {
                lo += 1;
            }
        }
    }
    out
}
