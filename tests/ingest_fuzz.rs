//! Property test of the row parser: any bytes, including hostile CSV (stray quotes, NULs,
//! invalid UTF-8, records over the cap), are read without panicking, and every record is either
//! accepted or not — never lost from the count.

use proptest::prelude::*;
use sightline::fraud::ingest::{FileRole, SourceLimits, parse_bytes_for_test, preset};

fn header() -> Vec<String> {
    [
        "tran_id",
        "orig_acct",
        "bene_acct",
        "tx_type",
        "base_amt",
        "tran_timestamp",
        "is_sar",
        "alert_id",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn limits() -> SourceLimits {
    SourceLimits {
        record_cap_bytes: 64,
        ..SourceLimits::default()
    }
}

fn section() -> sightline::fraud::ingest::FileMapping {
    preset("amlsim")
        .expect("preset")
        .files
        .into_iter()
        .find(|f| f.role == FileRole::Transactions)
        .expect("transactions section")
}

/// Bytes drawn mostly from CSV's special characters, so quoting paths are exercised.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b','),
            Just(b'"'),
            Just(b'\n'),
            Just(b'\r'),
            Just(b'1'),
            Just(b'-'),
            Just(b'T'),
            Just(b':'),
            Just(0xffu8),
            any::<u8>(),
        ],
        0..2048,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (read, ok) = parse_bytes_for_test(&bytes, &header(), &section(), &limits());
        prop_assert!(ok <= read);
    }

    #[test]
    fn csv_like_bytes_never_panic(bytes in csvish()) {
        let (read, ok) = parse_bytes_for_test(&bytes, &header(), &section(), &limits());
        prop_assert!(ok <= read);
    }

    #[test]
    fn valid_rows_survive_random_neighbours(junk in csvish(), n in 1u64..20) {
        let mut bytes = Vec::new();
        for i in 0..n {
            bytes.extend_from_slice(format!("{i},1,2,WIRE,3.5,2017-01-01T00:00:00Z,False,-1\n").as_bytes());
        }
        // Junk after the good rows never takes them back.
        bytes.extend_from_slice(&junk);
        let (_, ok) = parse_bytes_for_test(&bytes, &header(), &section(), &limits());
        prop_assert!(ok >= n);
    }
}
